// Temporal's own server on PostgreSQL persistence: the topology of a real deployment (frontend, history,
// matching and worker services, SQL persistence and visibility), in one process on this machine, so a
// benchmark can measure carebell on it rather than on the dev server's SQLite file.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { cacheDir } from '../config';
import { freePort } from './free-port';
import {
  resolveTemporalServer,
  resolveTemporalSqlTool,
  temporalPostgresSchemaDir,
  type ResolvedBinary,
} from './temporal-binaries';

export interface ClusterPostgres {
  host: string;
  port: number;
  /** Needs CREATEDB (the embedded cluster's owner has it). */
  user: string;
  password: string;
}

export interface StartClusterOptions {
  postgres: ClusterPostgres;
  /** Holds the server's config and logs (not its state, which is in PostgreSQL). */
  dataDir: string;
  namespace: string;
  /** Where provisioned binaries are cached; the user's cache dir unless told. */
  cacheRoot?: string;
  progress?: (line: string) => void;
  /** Prebuilt binaries (TEMPORAL_SERVER_PATH, TEMPORAL_SQL_TOOL_PATH); otherwise found or built. */
  serverPath?: string;
  sqlToolPath?: string;
}

export interface RunningCluster {
  address: string;
  namespace: string;
  /** The server's own log (it writes much, and nothing a carebell operator needs on the console). */
  logFile: string;
  stop: () => Promise<void>;
}

/** The database names Temporal's docs and Docker images use; carebell's own database sits beside them. */
export const CLUSTER_DATABASES = { main: 'temporal', visibility: 'temporal_visibility' } as const;

// As in the module's development-postgres12.yaml: enough to spread work over more than one shard, few
// enough to start in about a second. The number is fixed for the life of the database.
const HISTORY_SHARDS = 4;
const RETENTION = '1 day';
const STOP_GRACE_MS = 15_000;
const START_TIMEOUT_MS = 60_000;

export async function startTemporalCluster(options: StartClusterOptions): Promise<RunningCluster> {
  const progress = options.progress ?? (() => {});
  const cacheRoot = options.cacheRoot ?? cacheDir();
  // One after the other: one build makes both, and the second finds it cached.
  const server = requirePath(
    await resolveTemporalServer({ cacheRoot, explicitPath: options.serverPath, progress }),
  );
  const sqlTool = requirePath(
    await resolveTemporalSqlTool({ cacheRoot, explicitPath: options.sqlToolPath, progress }),
  );
  await fs.mkdir(options.dataDir, { recursive: true, mode: 0o700 });

  let started = Date.now();
  await setUpDatabases(sqlTool, options.postgres, await temporalPostgresSchemaDir(cacheRoot), {
    logFile: path.join(options.dataDir, 'temporal-sql-tool.log'),
  });
  progress(`Temporal cluster: databases and schemas ready in ${seconds(started)}s`);

  started = Date.now();
  const ports = await distinctFreePorts(8);
  const frontendPort = ports[0]!;
  const address = `127.0.0.1:${frontendPort}`;
  await writeConfig(options.dataDir, options.postgres, ports);
  const logFile = path.join(options.dataDir, 'temporal-server.log');
  const child = await spawnServer(server, options.dataDir, logFile);
  try {
    await waitUntilServing(address, child, logFile);
    await registerNamespace(address, options.namespace);
    progress(`Temporal cluster: serving ${address}, namespace ${options.namespace}, in ${seconds(started)}s`);
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  return { address, namespace: options.namespace, logFile, stop: () => stopProcess(child) };
}

/** The connection details of a PostgreSQL URL, for a cluster that shares carebell's PostgreSQL. */
export function clusterPostgresOf(databaseUrl: string): ClusterPostgres {
  const url = new URL(databaseUrl);
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  };
}

function requirePath(binary: ResolvedBinary): string {
  // resolveTemporalServer/SqlTool throw rather than fall back to an SDK download; this narrows the type.
  if (!binary.path) throw new Error('the Temporal server binaries could not be found or built');
  return binary.path;
}

const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);

/**
 * Creates both databases and brings their schemas to the release's version. Every step is idempotent in
 * the tool itself (create-database ignores an existing database, setup-schema keeps a newer version,
 * update-schema applies only what is missing), so a second start on the same PostgreSQL reuses them.
 */
async function setUpDatabases(
  sqlTool: string,
  postgres: ClusterPostgres,
  schemaDir: string,
  options: { logFile: string },
): Promise<void> {
  const log = await fs.open(options.logFile, 'a', 0o600);
  try {
    const run = (database: string, args: string[]) =>
      runLogged(
        sqlTool,
        ['--plugin', 'postgres12', '--endpoint', postgres.host, '--port', String(postgres.port), ...args],
        // The password goes through the environment, not the command line that `ps` shows.
        { ...process.env, SQL_USER: postgres.user, SQL_PASSWORD: postgres.password, SQL_DATABASE: database },
        log.fd,
        options.logFile,
      );
    for (const [database, schema] of [
      [CLUSTER_DATABASES.main, 'temporal'],
      [CLUSTER_DATABASES.visibility, 'visibility'],
    ] as const) {
      await run(database, ['create-database']);
      await run(database, ['setup-schema', '--version', '0.0']);
      await run(database, ['update-schema', '--schema-dir', path.join(schemaDir, schema, 'versioned')]);
    }
  } finally {
    await log.close();
  }
}

async function runLogged(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  logFd: number,
  logFile: string,
): Promise<void> {
  const child = spawn(command, args, { env, stdio: ['ignore', logFd, logFd] });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) {
    throw new Error(
      `${path.basename(command)} ${args.join(' ')} exited with ${code}:\n${await tail(logFile)}`,
    );
  }
}

async function tail(file: string, lines = 15): Promise<string> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-lines).join('\n');
}

/**
 * Ports below Linux's ephemeral range, distinct from one another. They are free when picked and bound a
 * moment later by the server (it cannot bind port 0 and report back); a clash shows as a failed start.
 */
async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort({ from: 20_000, to: 32_000 }));
  return [...ports];
}

const CONFIG_ENV = 'carebell';

/**
 * The module's development-postgres12.yaml, cut down: no metrics or pprof listener, no archival, no
 * HTTP API (the SDKs speak gRPC), every service on its own free port, logs at warn level.
 */
async function writeConfig(dataDir: string, postgres: ClusterPostgres, ports: number[]): Promise<void> {
  const [frontend, frontendMembership, history, historyMembership, matching, matchingMembership] = ports;
  const [worker, workerMembership] = ports.slice(6);
  const configDir = path.join(dataDir, 'config');
  await fs.mkdir(configDir, { recursive: true, mode: 0o700 });
  // JSON strings are YAML strings, and a password may hold any character.
  const quote = (value: string) => JSON.stringify(value);
  const datastore = (database: string, maxConns: number) => `
      sql:
        pluginName: "postgres12"
        databaseName: ${quote(database)}
        connectAddr: ${quote(`${postgres.host}:${postgres.port}`)}
        connectProtocol: "tcp"
        user: ${quote(postgres.user)}
        password: ${quote(postgres.password)}
        maxConns: ${maxConns}
        maxIdleConns: ${maxConns}
        maxConnLifetime: "1h"`;
  const service = (grpcPort: number | undefined, membershipPort: number | undefined) => `
    rpc:
      grpcPort: ${grpcPort}
      membershipPort: ${membershipPort}
      bindOnLocalHost: true`;
  const config = `# Written by carebell (infra/temporal-cluster.ts) at each start; edits are overwritten.
log:
  stdout: true
  level: warn

persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: ${HISTORY_SHARDS}
  datastores:
    postgres-default:${datastore(CLUSTER_DATABASES.main, 20)}
    postgres-visibility:${datastore(CLUSTER_DATABASES.visibility, 2)}

global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"

services:
  frontend:${service(frontend, frontendMembership)}
  history:${service(history, historyMembership)}
  matching:${service(matching, matchingMembership)}
  worker:${service(worker, workerMembership)}

clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: "127.0.0.1:${frontend}"

dcRedirectionPolicy:
  policy: "noop"

dynamicConfigClient:
  filepath: ${quote(path.join(configDir, 'dynamicconfig.yaml'))}
  pollInterval: "60s"
`;
  // The version check calls out to temporal.io, which these machines cannot reach.
  const dynamicConfig = `frontend.enableServerVersionCheck:
  - value: false
`;
  await fs.writeFile(path.join(configDir, `${CONFIG_ENV}.yaml`), config, { mode: 0o600 });
  await fs.writeFile(path.join(configDir, 'dynamicconfig.yaml'), dynamicConfig, { mode: 0o600 });
}

async function spawnServer(server: string, dataDir: string, logFile: string): Promise<ChildProcess> {
  const log = await fs.open(logFile, 'a', 0o600);
  try {
    const child = spawn(
      server,
      ['--root', dataDir, '--config', 'config', '--env', CONFIG_ENV, '--allow-no-auth', 'start'],
      { stdio: ['ignore', log.fd, log.fd] },
    );
    // Should this process end without stopping it (an uncaught error), the server must not outlive it.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.off('exit', killOnExit));
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    return child;
  } finally {
    // The child holds its own copy of the descriptor.
    await log.close();
  }
}

async function waitUntilServing(address: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `the Temporal server exited (${child.signalCode ?? child.exitCode}) while starting:\n${await tail(logFile)}`,
      );
    }
    if (await answers(address)) return;
    if (Date.now() > deadline) {
      throw new Error(
        `the Temporal server did not serve ${address} in ${START_TIMEOUT_MS / 1000}s; see ${logFile}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function answers(address: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: 1000 });
    // The system namespace exists once the frontend has reached persistence.
    await connection.workflowService.describeNamespace({ namespace: 'temporal-system' });
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => {});
  }
}

/** Registers the namespace (or finds it from an earlier start) and waits until history accepts it. */
async function registerNamespace(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    try {
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs(RETENTION),
      });
    } catch (error) {
      if (grpcCode(error) !== GRPC_ALREADY_EXISTS) throw error;
    }
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await namespaceUsable(connection, namespace))) {
      if (Date.now() > deadline)
        throw new Error(`namespace ${namespace} was not usable in ${START_TIMEOUT_MS / 1000}s`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    await connection.close();
  }
}

/**
 * A history read of a workflow that does not exist passes the frontend's and the history service's
 * namespace caches: "workflow not found" means the namespace is known everywhere a start will go.
 */
async function namespaceUsable(connection: Connection, namespace: string): Promise<boolean> {
  try {
    await connection.workflowService.getWorkflowExecutionHistory({
      namespace,
      execution: { workflowId: `carebell-readiness-probe-${Date.now()}` },
    });
    return true;
  } catch (error) {
    // "Namespace <name> is not found." until the caches have it.
    return (
      isGrpcServiceError(error) && grpcCode(error) === GRPC_NOT_FOUND && !/namespace/i.test(error.details)
    );
  }
}

// gRPC status codes (grpc-js is only a transitive dependency here).
const GRPC_NOT_FOUND = 5;
const GRPC_ALREADY_EXISTS = 6;

function grpcCode(error: unknown): number | undefined {
  return isGrpcServiceError(error) ? Number(error.code) : undefined;
}

/** SIGTERM lets the server leave its membership ring and close shards; SIGKILL if it takes too long. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}
