import type { SentMessage } from './sms-sender';

export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  /**
   * Stable Message-ID (without angle brackets). A resend after an ambiguous failure reuses it, so
   * receiving systems can recognise the duplicate.
   */
  messageId: string;
  headers?: Record<string, string>;
}

export interface EmailSender {
  /** Hands the message to the relay over TLS; throws ChannelError on failure. */
  send(message: EmailMessage): Promise<SentMessage>;
}
