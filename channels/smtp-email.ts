import fs from 'node:fs';
import nodemailer from 'nodemailer';
import type { DkimSettings, SmtpSettings } from '../config';
import { ChannelError, type ChannelFailure } from './channel-error';
import type { EmailMessage, EmailSender } from './email-sender';
import type { SentMessage } from './sms-sender';

// Well inside the send activity's one-minute start-to-close timeout, so a hung relay fails this attempt
// before Temporal starts another one beside it.
const CONVERSATION_DEADLINE_MS = 40_000;

const POOL_CONNECTIONS = 5;
// Then a fresh connection (and TLS session): bounds what one long-lived session carries.
const MESSAGES_PER_CONNECTION = 100;

// RFC 8058 3: the signature must cover List-Unsubscribe and List-Unsubscribe-Post, or receivers ignore them.
const DKIM_SIGNED_HEADERS = [
  'From',
  'Sender',
  'Reply-To',
  'Subject',
  'Date',
  'Message-ID',
  'To',
  'Cc',
  'MIME-Version',
  'Content-Type',
  'Content-Transfer-Encoding',
  'List-Unsubscribe',
  'List-Unsubscribe-Post',
].join(':');

export function createSmtpEmailSender(
  settings: SmtpSettings,
  options: { dkim?: DkimSettings } = {},
): EmailSender {
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
    // A few connections kept open and reused: one TCP and TLS handshake per many messages, not per message,
    // and a relay that limits connections per client is not hammered by a morning's reminders.
    pool: true,
    maxConnections: POOL_CONNECTIONS,
    maxMessages: MESSAGES_PER_CONNECTION,
    // Shorter than relays' own idle limits (Postfix: 300 s), so the relay rarely closes one under us.
    idleTimeout: 30_000,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
    dkim: options.dkim && {
      domainName: options.dkim.domain,
      keySelector: options.dkim.selector,
      privateKey: options.dkim.privateKey,
      headerFieldNames: DKIM_SIGNED_HEADERS,
    },
  });

  return {
    domain: domainOf(settings.from),
    async send(message: EmailMessage): Promise<SentMessage> {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new ChannelError('the SMTP relay did not finish in time', 'smtp-timeout', 'transient')),
          CONVERSATION_DEADLINE_MS,
        );
      });
      try {
        const info = await Promise.race([
          transport.sendMail({
            from: message.from ?? settings.from,
            to: message.to,
            subject: message.subject,
            text: message.text,
            html: message.html,
            messageId: `<${message.messageId}>`,
            headers: message.headers,
          }),
          deadline,
        ]);
        if (info.rejected.length > 0) {
          throw new ChannelError('the relay rejected the recipient', 'smtp-recipient-rejected', 'recipient');
        }
        return { providerMessageId: info.messageId.replace(/^<|>$/g, ''), status: 'accepted' };
      } catch (error) {
        throw error instanceof ChannelError ? error : toChannelError(error);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => transport.close(),
  };
}

/** The domain of a From address (`Name <user@example.org>` or `user@example.org`). */
export function domainOf(address: string): string {
  return /@([^>\s]+)>?\s*$/.exec(address)?.[1]?.toLowerCase() ?? 'localhost';
}

interface SmtpFailure {
  code?: string;
  responseCode?: number;
  command?: string;
}

/**
 * RFC 5321 4.2.1: a 5xx reply is permanent and a 4xx reply transient, whatever the stage (RCPT, DATA, the
 * end of DATA). Failures of our own side (authentication, TLS, a refused sender) no retry can fix.
 */
export function classifySmtpError(error: SmtpFailure): ChannelFailure {
  if (error.code === 'EAUTH' || error.code === 'ETLS' || error.code === 'ECONFIG') return 'configuration';
  if (error.responseCode !== undefined && error.responseCode >= 500) {
    return /^MAIL FROM/i.test(error.command ?? '') ? 'configuration' : 'recipient';
  }
  if (error.responseCode !== undefined && error.responseCode >= 400) return 'transient';
  // A certificate the relay presents that we cannot verify will not verify on the next attempt either.
  if (error.code === 'ESOCKET' && /cert|self.signed|verify/i.test(String((error as Error).message)))
    return 'configuration';
  return 'transient';
}

function toChannelError(error: unknown): ChannelError {
  const smtp = error as SmtpFailure;
  const kind = classifySmtpError(smtp);
  // Connection-level codes (ETLS, EAUTH, ECONNECTION, ...) say more than the reply code that came with them.
  const atStage = smtp.code === undefined || smtp.code === 'EENVELOPE' || smtp.code === 'EMESSAGE';
  const code = `smtp-${(atStage ? smtp.responseCode : smtp.code) ?? smtp.code ?? 'unknown'}`;
  // A reply, or a connection that failed or closed before the message was sent, means not accepted; a
  // timeout or a socket lost while the message was on its way may have been accepted.
  const notAccepted =
    smtp.responseCode !== undefined || ['ECONNECTION', 'EDNS', 'ETLS', 'EAUTH'].includes(smtp.code ?? '');
  return new ChannelError(`SMTP hand-off failed: ${code}`, code, kind, { cause: error, notAccepted });
}
