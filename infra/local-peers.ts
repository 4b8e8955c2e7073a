import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { SmtpSettings, TwilioSettings } from '../config';
import { startSmtpPeer, type SmtpPeer } from '../peers/smtp-peer';
import { startTwilioPeer, type TwilioPeer } from '../peers/twilio-peer';

export const LOCAL_ACCOUNT_SID = `AC${'0'.repeat(32)}`;
export const LOCAL_FROM_NUMBER = '+15005550006';
export const LOCAL_EMAIL_FROM = 'reminders@carebell.localhost';

export interface LocalPeers {
  sms: TwilioPeer;
  smtp: SmtpPeer;
  twilio: TwilioSettings;
  smtpSettings: SmtpSettings;
  stop: () => Promise<void>;
}

/** The Twilio-compatible stub and the STARTTLS SMTP peer, storing what they receive under `dir`. */
export async function startLocalPeers(options: {
  dir: string;
  smsPort: number;
  smtpPort: number;
  /** Loopback unless told otherwise (a container that serves other containers). */
  host?: string;
  /** A fresh random token unless given, so only this process's workers can use the SMS peer. */
  authToken?: string;
}): Promise<LocalPeers> {
  const authToken = options.authToken ?? randomBytes(16).toString('hex');
  const sms = await startTwilioPeer({
    port: options.smsPort,
    host: options.host,
    dir: path.join(options.dir, 'sms'),
    accountSid: LOCAL_ACCOUNT_SID,
    authToken,
  });
  const smtp = await startSmtpPeer({
    port: options.smtpPort,
    host: options.host,
    dir: path.join(options.dir, 'smtp'),
  }).catch(async (error: unknown) => {
    await sms.close();
    throw error;
  });
  return {
    sms,
    smtp,
    twilio: { accountSid: LOCAL_ACCOUNT_SID, authToken, fromNumber: LOCAL_FROM_NUMBER, apiBaseUrl: sms.url },
    smtpSettings: { url: `smtp://127.0.0.1:${smtp.port}`, from: LOCAL_EMAIL_FROM, caFile: smtp.certFile },
    stop: async () => {
      await Promise.all([sms.close(), smtp.close()]);
    },
  };
}
