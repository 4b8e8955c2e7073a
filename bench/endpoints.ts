// The one place where the bench chooses what it runs against, throw-away under the run's data dir: the
// embedded default, as `npm start` runs it (embedded PostgreSQL, the Temporal CLI dev server persisting to
// a file with WAL, the local SMS and SMTP peers), or with `--cluster` Temporal's own server on PostgreSQL
// (infra/temporal-cluster.ts), as a deployment beyond one machine runs it, served by two carebell workers.
import path from 'node:path';
import { cacheDir, loadConfig } from '../config';
import { freePort } from '../infra/free-port';
import type { LocalPeers } from '../infra/local-peers';
import type { Endpoints } from '../infra/endpoints';
import { startServices } from '../infra/services';
import { resolveTemporalCli, TEMPORAL_SERVER_VERSION } from '../infra/temporal-binaries';

export interface BenchServices {
  endpoints: Endpoints;
  /** The SMS and SMTP peers every message goes to, in this process (their files are what is counted). */
  peers: LocalPeers;
  peerDirs: { sms: string; email: string };
  /** The Temporal server's database file, whose growth per sleeping journey is reported. */
  temporalDbFile?: string;
  /** carebell worker processes to run: a cluster is served by more than one. */
  workers: number;
  /** A description for the report. */
  description: string;
  stop: () => Promise<void>;
}

export async function chooseEndpoints(options: {
  cluster: boolean;
  dataDir: string;
  say: (line: string) => void;
}): Promise<BenchServices> {
  const cli = await resolveTemporalCli({
    cacheRoot: cacheDir(),
    explicitPath: process.env.TEMPORAL_CLI_PATH,
    progress: options.say,
  });
  const config = loadConfig({
    CAREBELL_DATA_DIR: options.dataDir,
    TEMPORAL_CLI_PATH: cli.path,
    // Persistent like `npm start` (a database file, not memory), on ports no other instance holds.
    CAREBELL_TEMPORAL_UI_PORT: String(await freePort()),
  });
  const services = await startServices(config, {
    persistent: true,
    fixedPorts: false,
    progress: options.say,
    temporal: options.cluster ? 'cluster' : 'dev-server',
  });
  if (!services.peers) {
    await services.stop();
    throw new Error('the bench needs the local SMS and SMTP peers');
  }
  const peersDir = path.join(options.dataDir, 'peers');
  return {
    endpoints: services.endpoints,
    peers: services.peers,
    peerDirs: { sms: path.join(peersDir, 'sms'), email: path.join(peersDir, 'smtp', 'messages') },
    ...(options.cluster
      ? {
          workers: 2,
          description: `Temporal server ${TEMPORAL_SERVER_VERSION} on the embedded PostgreSQL (4 history shards), two carebell workers, local peers`,
        }
      : {
          workers: 1,
          temporalDbFile: path.join(options.dataDir, 'temporal', 'temporal.db'),
          description:
            'embedded default: embedded PostgreSQL, Temporal CLI dev server (SQLite file, WAL), local peers',
        }),
    stop: services.stop,
  };
}
