// Where the running parts are: written by `npm start` for the processes that join it (an extra worker, the
// API, the CLI), or taken from configuration. Kept apart from infra/services.ts so that joining does not
// load what starting needs (embedded PostgreSQL, the local peers, the Temporal binaries).
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Config, SmtpSettings, TwilioSettings } from '../config';
import type { TemporalTarget } from './temporal-connection';

/** What a worker, the API or the CLI needs to reach every part; written to <data dir>/runtime.json. */
export interface Endpoints {
  /** The application's connection (row-level security applies). */
  databaseUrl: string;
  /** The tables' owner, for operator jobs that span clinics; known where DATABASE_URL is (or embedded). */
  ownerDatabaseUrl?: string;
  temporal: TemporalTarget;
  temporalUiUrl?: string;
  /** Unset only for a deployment that does not send (the test harness, the CLI on its own). */
  twilio?: TwilioSettings;
  smtp?: SmtpSettings;
  peers?: { smsUrl: string; smtpPort: number; dir: string };
}

const RUNTIME_FILE = 'runtime.json';

/** Lets the CLI find the parts a running `npm start` brought up. Holds local credentials: mode 0600. */
export async function writeEndpoints(dataDir: string, endpoints: Endpoints): Promise<void> {
  const file = path.join(dataDir, RUNTIME_FILE);
  await fs.writeFile(`${file}.tmp`, JSON.stringify({ pid: process.pid, ...endpoints }, null, 2), {
    mode: 0o600,
  });
  await fs.rename(`${file}.tmp`, file);
}

export async function removeEndpoints(dataDir: string): Promise<void> {
  await fs.rm(path.join(dataDir, RUNTIME_FILE), { force: true });
}

/** The endpoints of the `npm start` running on this data dir, or undefined when none is running. */
export async function readEndpoints(dataDir: string): Promise<Endpoints | undefined> {
  let parsed: Endpoints & { pid: number };
  try {
    parsed = JSON.parse(await fs.readFile(path.join(dataDir, RUNTIME_FILE), 'utf8')) as Endpoints & {
      pid: number;
    };
  } catch {
    return undefined;
  }
  try {
    process.kill(parsed.pid, 0);
  } catch {
    return undefined;
  }
  return parsed;
}

/**
 * Endpoints for a process that joins an existing deployment (an extra worker, the CLI): the configured
 * services when configuration names them all, otherwise those of the `npm start` running on the data dir.
 */
export async function joinEndpoints(
  config: Config,
  options: { channels: boolean } = { channels: true },
): Promise<Endpoints> {
  const channelsReady = !options.channels || (config.twilio && config.smtp);
  const configuredDatabase = config.appDatabaseUrl ?? config.databaseUrl;
  if (configuredDatabase && config.temporal.address && channelsReady) {
    return {
      databaseUrl: configuredDatabase,
      ownerDatabaseUrl: config.databaseUrl,
      temporal: { ...config.temporal, address: config.temporal.address },
      twilio: config.twilio,
      smtp: config.smtp,
    };
  }
  const running = await readEndpoints(config.dataDir);
  if (!running) {
    throw new Error(
      `no carebell is running on ${config.dataDir}: start one with \`npm start\`, or set DATABASE_URL, ` +
        'TEMPORAL_ADDRESS, TWILIO_* and SMTP_* to join a deployment',
    );
  }
  // Explicit configuration still wins over what the running instance advertises.
  return {
    ...running,
    databaseUrl: configuredDatabase ?? running.databaseUrl,
    ownerDatabaseUrl: config.databaseUrl ?? running.ownerDatabaseUrl,
    temporal: config.temporal.address
      ? { ...config.temporal, address: config.temporal.address }
      : running.temporal,
    twilio: config.twilio ?? running.twilio,
    smtp: config.smtp ?? running.smtp,
  };
}
