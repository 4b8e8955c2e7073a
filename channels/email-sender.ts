import type { SentMessage } from './sms-sender';

export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  /** The clinic's own From address, when it has one; else the deployment's. */
  from?: string;
  /**
   * Message-ID without angle brackets, in the sending domain. A resend after an ambiguous failure reuses
   * it, so receiving systems can recognise the duplicate.
   */
  messageId: string;
  headers?: Record<string, string>;
}

export interface EmailSender {
  /** The domain of the From address, for Message-IDs. */
  readonly domain: string;
  /** Hands the message to the relay over TLS; throws ChannelError on failure. */
  send(message: EmailMessage): Promise<SentMessage>;
}
