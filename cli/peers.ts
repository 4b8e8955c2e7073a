import path from 'node:path';
import type { Config } from '../config';
import { startLocalPeers } from '../infra/local-peers';
import { printJson, progress } from './output';

export interface PeersOptions {
  host: string;
  smsPort: string;
  smtpPort: string;
  authToken?: string;
  json?: boolean;
}

/** Runs the local Twilio-compatible and SMTP peers on their own, e.g. as a service in docker-compose. */
export async function peersCommand(config: Config, options: PeersOptions): Promise<void> {
  const dir = path.join(config.dataDir, 'peers');
  const peers = await startLocalPeers({
    dir,
    host: options.host,
    smsPort: Number(options.smsPort),
    smtpPort: Number(options.smtpPort),
    authToken: options.authToken,
  });
  const settings = {
    TWILIO_ACCOUNT_SID: peers.twilio.accountSid,
    TWILIO_AUTH_TOKEN: peers.twilio.authToken,
    TWILIO_FROM_NUMBER: peers.twilio.fromNumber,
    TWILIO_API_BASE_URL: `http://${options.host}:${peers.sms.port}`,
    SMTP_URL: `smtp://${options.host}:${peers.smtp.port}`,
    SMTP_FROM: peers.smtpSettings.from,
    SMTP_CA_FILE: peers.smtp.certFile,
  };
  if (options.json) printJson(settings);
  else {
    progress(`local peers running; messages are kept under ${dir}. Point a worker at them with:`);
    for (const [name, value] of Object.entries(settings)) progress(`  ${name}=${value}`);
  }
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
  });
  await peers.stop();
}
