import fs from 'node:fs';
import nodemailer from 'nodemailer';
import type { SmtpSettings } from '../config';
import { ChannelError } from './channel-error';
import type { EmailMessage, EmailSender } from './email-sender';
import type { SentMessage } from './sms-sender';

export function createSmtpEmailSender(settings: SmtpSettings): EmailSender {
  const url = new URL(settings.url);
  const transport = nodemailer.createTransport({
    host: url.hostname,
    port: Number(url.port) || (url.protocol === 'smtps:' ? 465 : 587),
    secure: url.protocol === 'smtps:',
    // PHI never crosses the wire in plaintext: without STARTTLS the relay is refused, not used.
    requireTLS: true,
    auth: url.username
      ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) }
      : undefined,
    tls: {
      minVersion: 'TLSv1.2',
      ca: settings.caFile ? [fs.readFileSync(settings.caFile)] : undefined,
    },
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 30_000,
  });

  return {
    async send(message: EmailMessage): Promise<SentMessage> {
      try {
        const info = await transport.sendMail({
          from: settings.from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          messageId: `<${message.messageId}>`,
          headers: message.headers,
        });
        if (info.rejected.length > 0) {
          throw new ChannelError('the relay rejected the recipient', 'smtp-recipient-rejected', true);
        }
        return { providerMessageId: info.messageId.replace(/^<|>$/g, ''), status: 'accepted' };
      } catch (error) {
        if (error instanceof ChannelError) throw error;
        throw toChannelError(error);
      }
    },
  };
}

function toChannelError(error: unknown): ChannelError {
  const smtp = error as { code?: string; responseCode?: number };
  // 5xx replies about the recipient are final; 4xx and connection problems may pass.
  const permanent = smtp.responseCode !== undefined && smtp.responseCode >= 500 && smtp.code === 'EENVELOPE';
  // Connection-level codes (ETLS, ECONNECTION, ...) say more than the reply code that came with them.
  const envelope = smtp.code === undefined || smtp.code === 'EENVELOPE' || smtp.code === 'EMESSAGE';
  const code = `smtp-${(envelope ? smtp.responseCode : smtp.code) ?? 'unknown'}`;
  return new ChannelError(`SMTP hand-off failed: ${code}`, code, permanent, { cause: error });
}
