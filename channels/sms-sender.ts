import type { ProviderStatus } from './provider-status';

export interface SmsMessage {
  /** E.164 destination. */
  to: string;
  body: string;
}

export interface SentMessage {
  providerMessageId: string;
  status: ProviderStatus;
}

export interface SmsSender {
  /** Hands the message to the provider; throws ChannelError on failure. */
  send(message: SmsMessage): Promise<SentMessage>;
  /**
   * Finds a message with this destination and body that the provider accepted after `since`: used after a
   * crash between the provider call and recording its result, so the message is not sent a second time.
   */
  findSent(message: SmsMessage, since: Date): Promise<SentMessage | undefined>;
}
