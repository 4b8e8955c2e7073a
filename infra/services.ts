// Resolves every runtime part: the configured one where configuration names it, otherwise the embedded
// default started here (PostgreSQL, the Temporal dev server or Temporal's own server on that PostgreSQL,
// the local SMS and SMTP peers).
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { cacheDir, type Config } from '../config';
import { migrateDatabase, provisionAppLogin } from '../db/client';
import { ensurePrivateDir } from '../lib/private-files';
import { ShutdownSteps } from '../lib/shutdown-steps';
import { startEmbeddedPostgres } from './embedded-postgres';
import type { Endpoints } from './endpoints';
import { freePort } from './free-port';
import { startLocalPeers, type LocalPeers } from './local-peers';
import { resolveTemporalCli } from './temporal-binaries';
import { clusterPostgresOf, startTemporalCluster } from './temporal-cluster';
import type { TemporalTarget } from './temporal-connection';
import { startTemporalDevServer } from './temporal-dev-server';

export interface Services {
  endpoints: Endpoints;
  peers?: LocalPeers;
  /**
   * Stops what was started, PostgreSQL last; `progress` hears each part's outcome. Rejects naming any
   * part that failed to stop or ran out of time (the others are stopped regardless).
   */
  stop: (progress?: (line: string) => void) => Promise<void>;
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
      stops.add('PostgreSQL', postgres.stop);
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
      stops.add('Temporal server', cluster.stop);
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
      stops.add('Temporal dev server', server.stop);
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
      stops.add('local peers', peers.stop, 5_000);
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
      stop: (progress) => stops.runOrThrow(progress),
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
