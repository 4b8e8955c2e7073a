import type { ProviderStatus } from './provider-status';

export interface SmsMessage {
  /** E.164 destination. */
  to: string;
  body: string;
  /** The clinic's own number or messaging service, when it has one; else the deployment's. */
  from?: string;
  /** Where the provider reports what became of the message (delivered, undelivered). */
  statusCallback?: string;
}

export interface SentMessage {
  providerMessageId: string;
  status: ProviderStatus;
}

export interface SmsSender {
  /** Hands the message to the provider; throws ChannelError on failure, including a failed status. */
  send(message: SmsMessage): Promise<SentMessage>;
  /**
   * Finds a message to `to`, created after `since`, whose body contains `marker` (unique to one delivery):
   * used after a crash between the provider call and recording its result, so the message is not sent a
   * second time. Finds messages still queued, which have no send date yet.
   */
  findSent(query: { to: string; marker: string; since: Date }): Promise<SentMessage | undefined>;
}
