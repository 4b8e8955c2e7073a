// The services fault scenarios run against. `npm run faults` starts a throw-away stack of its own, whose
// Temporal dev server and PostgreSQL it may kill and start again; under `npm test` the scenarios share the
// services test/run.ts started, and only those that break nothing shared run there.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cacheDir } from '../config';
import { startEmbeddedPostgres } from '../infra/embedded-postgres';
import { freePort } from '../infra/free-port';
import { resolveTemporalCli, resolveTestServer } from '../infra/temporal-binaries';
import { startRestartableTemporalDevServer } from '../infra/temporal-dev-server';
import { buildKeyRing, type KeyRing } from '../security/key-ring';

/** A part a scenario may crash and bring back. */
export interface Restartable {
  kill: () => Promise<void>;
  restart: () => Promise<void>;
}

export interface FaultStack {
  /** Owner URL of the PostgreSQL cluster: each scenario creates a database of its own on it. */
  adminDatabaseUrl: string;
  temporalAddress: string;
  namespace: string;
  /** The key ring every worker of the run is given. */
  keyRing: KeyRing;
  /** The time-skipping test server (undefined: the SDK downloads its own). */
  timeSkippingServerPath?: string;
  /** Only on a stack of the suite's own. */
  temporalServer?: Restartable;
  postgres?: Restartable;
  stop: () => Promise<void>;
}

const newKeyRing = () => buildKeyRing([{ id: 'faults1', key: randomBytes(32) }], randomBytes(32));

/** A throw-away PostgreSQL and Temporal dev server (persisting to a file, so it survives a kill). */
export async function startOwnStack(progress: (line: string) => void): Promise<FaultStack> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'carebell-faults-'));
  const stops: (() => Promise<void>)[] = [() => fs.rm(dataDir, { recursive: true, force: true })];
  const stop = async () => {
    for (const step of stops.splice(0).reverse()) await step().catch(() => {});
  };
  try {
    const cli = await resolveTemporalCli({
      cacheRoot: cacheDir(),
      explicitPath: process.env.TEMPORAL_CLI_PATH,
      progress,
    });
    const testServer = await resolveTestServer({
      cacheRoot: cacheDir(),
      explicitPath: process.env.TEMPORAL_TEST_SERVER_PATH,
      progress,
    });
    progress('starting PostgreSQL');
    const postgres = await startEmbeddedPostgres({
      dir: path.join(dataDir, 'postgres'),
      port: await freePort(),
      persistent: false,
    });
    stops.push(postgres.stop);
    progress('starting the Temporal dev server');
    await fs.mkdir(path.join(dataDir, 'temporal'));
    const temporal = await startRestartableTemporalDevServer({
      binary: cli,
      dbFilename: path.join(dataDir, 'temporal', 'temporal.db'),
      namespace: 'default',
    });
    stops.push(temporal.stop);
    return {
      adminDatabaseUrl: postgres.url,
      temporalAddress: temporal.address,
      namespace: 'default',
      keyRing: newKeyRing(),
      timeSkippingServerPath: testServer.path,
      temporalServer: temporal,
      postgres,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The services test/run.ts started for `npm test`; nothing here may be killed. */
export function testHarnessStack(): FaultStack {
  const required = (name: string) => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set: run through \`npm test\` (test/run.ts)`);
    return value;
  };
  return {
    adminDatabaseUrl: required('CAREBELL_TEST_DATABASE_URL'),
    temporalAddress: required('CAREBELL_TEST_TEMPORAL_ADDRESS'),
    namespace: 'default',
    keyRing: newKeyRing(),
    timeSkippingServerPath: process.env.TEMPORAL_TEST_SERVER_PATH || undefined,
    stop: () => Promise.resolve(),
  };
}
