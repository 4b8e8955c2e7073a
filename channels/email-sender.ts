import type { SentMessage } from './sms-sender';

export interface EmailMessage {
  to: string;
  subject: string;
  /** The plain-text part; every message has one. */
  text: string;
  /** The HTML alternative, with the same words (multipart/alternative). */
  html?: string;
  /** The clinic's own From address, when it has one; else the deployment's. */
  from?: string;
  /**
   * Message-ID without angle brackets, in the sending domain. A resend after an ambiguous failure reuses
   * it, so receiving systems can recognise the duplicate.
   */
  messageId: string;
  /** Extra headers, e.g. List-Unsubscribe and List-Unsubscribe-Post (RFC 8058) on marketing mail. */
  headers?: Record<string, string>;
}

export interface EmailSender {
  /** The domain of the From address, for Message-IDs. */
  readonly domain: string;
  /** Hands the message to the relay over TLS; throws ChannelError on failure. */
  send(message: EmailMessage): Promise<SentMessage>;
  /** Closes the connections kept open to the relay (at shutdown: an open one keeps the process alive). */
  close(): void;
}
