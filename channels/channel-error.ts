/**
 * A failed hand-off to a provider. `permanent` means retrying the same message on the same channel cannot
 * succeed (bad address, recipient unsubscribed at the carrier); the caller falls back or records a failure.
 * Anything else (rate limits, outages, timeouts) is transient and worth retrying.
 */
export class ChannelError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly permanent: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ChannelError';
  }
}
