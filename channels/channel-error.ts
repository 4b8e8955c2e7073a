/**
 * Why a hand-off to a provider failed, in the terms the send path acts on:
 * - `transient`: the moment, not the message (rate limits, outages, timeouts, 4xx SMTP replies): retry;
 * - `recipient`: this address cannot take it (unknown number, mailbox refused with a 5xx): try the next channel;
 * - `opted-out`: the recipient refused messages at the carrier (Twilio 21610): record the opt-out;
 * - `configuration`: our side is wrong (credentials, sender, TLS): no retry of this message can fix it until
 *   an operator does, and it says nothing about the recipient.
 */
export type ChannelFailure = 'transient' | 'recipient' | 'opted-out' | 'configuration';

export class ChannelError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly kind: ChannelFailure,
    options?: { cause?: unknown; retryAfterMs?: number; notAccepted?: boolean },
  ) {
    super(message, options);
    this.name = 'ChannelError';
    this.retryAfterMs = options?.retryAfterMs;
    this.notAccepted = options?.notAccepted ?? kind !== 'transient';
  }

  /** The provider certainly did not take the message (it answered, or no conversation began). */
  readonly notAccepted: boolean;

  /** How long the provider asked us to wait (HTTP Retry-After), if it did. */
  readonly retryAfterMs: number | undefined;
}
