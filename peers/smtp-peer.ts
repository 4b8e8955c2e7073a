// A local SMTP relay for development and tests: smtp-server offering STARTTLS with a self-signed
// certificate (generated once, kept beside the messages), refusing mail over plaintext, and storing each
// accepted message as an .eml file under its directory.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { generate } from 'selfsigned';
import { SMTPServer } from 'smtp-server';

export interface SmtpPeer {
  port: number;
  /** PEM of the certificate the peer presents; clients trust it through SMTP_CA_FILE. */
  certFile: string;
  messagesDir: string;
  /** Raw RFC 5322 messages, oldest first. */
  messages(): Promise<string[]>;
  /**
   * The next `count` messages get this reply at this stage instead of being accepted (at `data`, after
   * the whole message was received, as a relay that refuses content does); `hang` never answers. With
   * `to`, only messages to that address (others pass it by).
   */
  failNext(
    fault: ({ stage: 'rcpt' | 'data'; code: number } | { stage: 'hang' }) & { to?: string },
    count?: number,
  ): void;
  /**
   * The next message to `to` is accepted and stored, then bounces later, as a relay's bounce report would
   * say (given to `onBounce` and kept in `bounces()`).
   */
  bounceNext(bounce: { to: string; type?: 'hard' | 'soft'; diagnostic?: string }): void;
  /** Bounce reports produced so far, oldest first. */
  bounces(): BounceReport[];
  /** Conversations held by a `hang` fault right now (until the client gives up or the peer closes). */
  hanging(): number;
  close(): Promise<void>;
}

/** The shape POST /webhooks/email/bounce takes. */
export interface BounceReport {
  messageId: string;
  recipient: string;
  type: 'hard' | 'soft';
  diagnostic?: string;
}

export interface SmtpPeerOptions {
  port: number;
  host?: string;
  dir: string;
  /** Called with each bounce report (e.g. to post it to the bounce webhook). */
  onBounce?: (report: BounceReport) => void;
  /** For tests only: a peer that never offers STARTTLS and accepts plaintext mail. */
  withoutTls?: boolean;
}

type Fault = Parameters<SmtpPeer['failNext']>[0];

export async function startSmtpPeer(options: SmtpPeerOptions): Promise<SmtpPeer> {
  const faults: Fault[] = [];
  const pendingBounces: { to: string; type: 'hard' | 'soft'; diagnostic?: string }[] = [];
  const reports: BounceReport[] = [];
  /** The first fault that applies to these recipients, taken if it is for one of `stages`. */
  const takeFault = (stages: Fault['stage'][], recipients: string[]) => {
    const index = faults.findIndex((fault) => !fault.to || recipients.includes(fault.to.toLowerCase()));
    const fault = faults[index];
    if (!fault || !stages.includes(fault.stage)) return undefined;
    faults.splice(index, 1);
    return fault;
  };
  const recipientsOf = (session: { envelope: { rcptTo: { address: string }[] } }) =>
    session.envelope.rcptTo.map((rcpt) => rcpt.address.toLowerCase());
  const hung = new Set<string>();
  const refusal = (code: number) =>
    Object.assign(new Error(code >= 500 ? 'Message refused' : 'Try again later'), { responseCode: code });
  const messagesDir = path.join(options.dir, 'messages');
  // What the outside world received (PHI): for this user alone.
  await fs.mkdir(messagesDir, { recursive: true, mode: 0o700 });
  const { certFile, keyFile } = await ensureCertificate(path.join(options.dir, 'tls'));
  const [cert, key] = await Promise.all([fs.readFile(certFile), fs.readFile(keyFile)]);

  const server = new SMTPServer({
    secure: false,
    key,
    cert,
    hideSTARTTLS: options.withoutTls === true,
    authOptional: true,
    disabledCommands: options.withoutTls ? ['STARTTLS'] : [],
    banner: 'carebell local SMTP peer',
    // On close, a client's idle pooled connection gets 421 after this long rather than smtp-server's 30 s.
    closeTimeout: 500,
    logger: false,
    onMailFrom(_address, session, callback) {
      if (!options.withoutTls && !session.secure) {
        callback(Object.assign(new Error('Must issue a STARTTLS command first'), { responseCode: 530 }));
        return;
      }
      callback();
    },
    onRcptTo(address, _session, callback) {
      const fault = takeFault(['rcpt'], [address.address.toLowerCase()]);
      if (fault?.stage === 'rcpt') {
        callback(refusal(fault.code));
        return;
      }
      callback();
    },
    onClose(session) {
      hung.delete(session.id);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const recipients = recipientsOf(session);
        const fault = takeFault(['data', 'hang'], recipients);
        if (fault?.stage === 'hang') {
          hung.add(session.id);
          return;
        }
        if (fault?.stage === 'data') {
          callback(refusal(fault.code));
          return;
        }
        const name = `${Date.now()}-${randomUUID()}.eml`;
        const file = path.join(messagesDir, name);
        const raw = Buffer.concat(chunks);
        fs.writeFile(`${file}.tmp`, raw, { mode: 0o600 })
          .then(() => fs.rename(`${file}.tmp`, file))
          .then(() => {
            callback();
            bounceLater(raw, recipients);
          }, callback);
      });
    },
  });

  function bounceLater(raw: Buffer, recipients: string[]) {
    const index = pendingBounces.findIndex((bounce) => recipients.includes(bounce.to.toLowerCase()));
    if (index < 0) return;
    const [bounce] = pendingBounces.splice(index, 1);
    const header = /^Message-ID:\s*(<[^>\r\n]+>)/im.exec(raw.toString('utf8').split(/\r?\n\r?\n/)[0] ?? '');
    const report: BounceReport = {
      messageId: header?.[1] ?? '',
      recipient: bounce!.to,
      type: bounce!.type,
      diagnostic:
        bounce!.diagnostic ??
        (bounce!.type === 'hard' ? 'smtp; 550 5.1.1 mailbox unavailable' : 'smtp; 452 4.2.2 mailbox full'),
    };
    reports.push(report);
    options.onBounce?.(report);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    certFile,
    messagesDir,
    async messages() {
      const names = (await fs.readdir(messagesDir)).filter((name) => name.endsWith('.eml')).sort();
      return Promise.all(names.map((name) => fs.readFile(path.join(messagesDir, name), 'utf8')));
    },
    failNext(fault, count = 1) {
      for (let i = 0; i < count; i++) faults.push(fault);
    },
    bounceNext(bounce) {
      pendingBounces.push({ to: bounce.to, type: bounce.type ?? 'hard', diagnostic: bounce.diagnostic });
    },
    bounces: () => [...reports],
    hanging: () => hung.size,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function ensureCertificate(dir: string): Promise<{ certFile: string; keyFile: string }> {
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  const exists = await fs
    .access(certFile)
    .then(() => fs.access(keyFile))
    .then(
      () => true,
      () => false,
    );
  if (exists) return { certFile, keyFile };
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 5 * 365 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  await fs.writeFile(keyFile, pems.private, { mode: 0o600 });
  await fs.writeFile(certFile, pems.cert, { mode: 0o600 });
  return { certFile, keyFile };
}
