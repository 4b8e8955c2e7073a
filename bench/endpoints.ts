// The one place where the bench chooses what it runs against. Today: the embedded default, as `npm start`
// runs it (embedded PostgreSQL, the Temporal CLI dev server persisting to a file with WAL, the local SMS
// and SMTP peers), throw-away under the run's data dir. `--cluster` will be a real Temporal server on
// PostgreSQL once its starter exists; only this file changes then.
import path from 'node:path';
import { cacheDir, loadConfig } from '../config';
import { freePort } from '../infra/free-port';
import type { LocalPeers } from '../infra/local-peers';
import { startServices, type Endpoints } from '../infra/services';
import { resolveTemporalCli } from '../infra/temporal-binaries';

export interface BenchServices {
  endpoints: Endpoints;
  /** The SMS and SMTP peers every message goes to, in this process (their files are what is counted). */
  peers: LocalPeers;
  peerDirs: { sms: string; email: string };
  /** The Temporal server's database file, whose growth per sleeping journey is reported. */
  temporalDbFile?: string;
  /** A description for the report. */
  description: string;
  stop: () => Promise<void>;
}

export class NotAvailable extends Error {}

export async function chooseEndpoints(options: {
  cluster: boolean;
  dataDir: string;
  say: (line: string) => void;
}): Promise<BenchServices> {
  if (options.cluster) {
    throw new NotAvailable(
      '--cluster is not yet available: the starter of a Temporal server on PostgreSQL is being built; ' +
        'run without it for the embedded default',
    );
  }
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
    temporalDbFile: path.join(options.dataDir, 'temporal', 'temporal.db'),
    description:
      'embedded default: embedded PostgreSQL, Temporal CLI dev server (SQLite file, WAL), local peers',
    stop: services.stop,
  };
}
