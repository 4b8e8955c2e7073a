// Access to the throw-away services that test/run.ts starts, plus per-file isolation on top of them.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Client, Connection } from '@temporalio/client';
import type { ClientOptionsForTestEnv } from '@temporalio/testing';
import { NativeConnection, type WorkerOptions } from '@temporalio/worker';
import postgres from 'postgres';
import { connectDatabase, migrateDatabase, type DatabaseHandle } from '../../db/client';
import { createLogger } from '../../infra/logger';
import { startTimeSkippingServer } from '../../infra/temporal-binaries';
import { startLocalPeers, type LocalPeers } from '../../infra/local-peers';
import { installTemporalRuntime } from '../../infra/temporal-runtime';
import { workflowCode } from '../../worker/workflow-bundle';
import { createDataConverter } from '../../security/data-converter';
import { FieldCipher } from '../../security/field-cipher';
import { buildKeyRing } from '../../security/key-ring';

export const testLog = createLogger('silent');
installTemporalRuntime(createLogger('error'));

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through \`npm test\` (test/run.ts)`);
  return value;
}

/** A key ring of this test process; the same shape npm start generates. */
export const testKeyRing = buildKeyRing([{ id: 'test1', key: randomBytes(32) }], randomBytes(32));
export const testCipher = new FieldCipher(testKeyRing);
export const testDataConverter = createDataConverter(testKeyRing);

/** The test key ring as the environment variables a separate worker process reads. */
export function testKeyRingEnv(): Record<string, string> {
  return {
    CAREBELL_KEYRING: [...testKeyRing.keys].map(([id, key]) => `${id}:${key.toString('base64')}`).join(','),
    CAREBELL_BLIND_INDEX_KEY: testKeyRing.blindIndexKey.toString('base64'),
  };
}

export const temporalAddress = () => required('CAREBELL_TEST_TEMPORAL_ADDRESS');
export const testServerPath = () => process.env.TEMPORAL_TEST_SERVER_PATH || undefined;

/**
 * A fresh, migrated database of its own on the shared throw-away cluster: `db` connects as the
 * application does, on carebell_app's own login (row-level security applies), `owner` as the owner.
 */
export async function createTestDatabase(): Promise<
  DatabaseHandle & { url: string; appUrl: string; owner: DatabaseHandle }
> {
  const adminUrl = required('CAREBELL_TEST_DATABASE_URL');
  const name = `test_${randomUUID().replaceAll('-', '')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const [url, appUrl] = [adminUrl, required('CAREBELL_TEST_APP_DATABASE_URL')].map((base) => {
    const inDatabase = new URL(base);
    inDatabase.pathname = `/${name}`;
    return inDatabase.toString();
  }) as [string, string];
  await migrateDatabase(url);
  const handle = connectDatabase(appUrl, { max: 4 });
  const owner = connectDatabase(url, { max: 2, as: 'owner' });
  return {
    ...handle,
    owner,
    url,
    appUrl,
    close: async () => {
      await handle.close();
      await owner.close();
    },
  };
}

const scratch: string[] = [];
process.once('exit', () => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** A scratch dir, gone when the test file's process ends unless `keep` (what a person may want to see). */
export async function tempDir(prefix: string, options: { keep?: boolean } = {}): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `carebell-${prefix}-`));
  if (!options.keep) scratch.push(dir);
  return dir;
}

export async function startTestPeers(): Promise<LocalPeers & { dir: string }> {
  const dir = await tempDir('peers');
  const peers = await startLocalPeers({ dir, smsPort: 0, smtpPort: 0 });
  return {
    ...peers,
    dir,
    stop: async () => {
      await peers.stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * With `client.dataConverter`, workflows started through the environment's client are encrypted. The SDK
 * gives the server's JVM 5 s to listen (and kills it if it does not); on a loaded machine a start can
 * miss that, so it gets up to three tries.
 */
export const createTimeSkippingEnvironment = (client?: ClientOptionsForTestEnv) =>
  retryServerStart(() => startTimeSkippingServer(testServerPath(), client));

/** What the SDK says when a time-skipping (or dev) server it started did not listen within its 5 s. */
export const SERVER_START_MISSED = /ephemeral server .* did not start within/;

/** Runs `start` (which starts a time-skipping server) again, up to three times, when the server missed its 5 s. */
export async function retryServerStart<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= 3 || !SERVER_START_MISSED.test(String(error))) throw error;
    }
  }
}

/** `carebell simulate …`, which starts a time-skipping server: run again if that server missed its 5 s. */
export async function runCarebellSimulate(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  for (let attempt = 1; ; attempt++) {
    const result = await runCarebell(['simulate', ...args]);
    if (result.code === 0 || attempt >= 3 || !SERVER_START_MISSED.test(result.stderr)) return result;
  }
}

let workflowCodeOnce: ReturnType<typeof workflowCode> | undefined;
/**
 * The workflow code for a worker in this process: the prebuilt bundle test/run.ts writes before the files
 * run (as `npm run build` does), else the sources. Bundling takes seconds of CPU, so not once per worker.
 */
export async function testWorkflowCode(): Promise<Pick<WorkerOptions, 'workflowsPath' | 'workflowBundle'>> {
  workflowCodeOnce ??= workflowCode();
  const { workflowsPath, workflowBundle } = await workflowCodeOnce;
  return workflowBundle ? { workflowBundle } : { workflowsPath };
}

export const uniqueTaskQueue = (name: string) => `test-${name}-${randomUUID().slice(0, 8)}`;

/** Client and worker connections to the shared dev server, with the test data converter. */
export async function connectTestTemporal() {
  const connection = await Connection.connect({ address: temporalAddress() });
  const nativeConnection = await NativeConnection.connect({ address: temporalAddress() });
  return {
    connection,
    nativeConnection,
    client: new Client({ connection, dataConverter: testDataConverter }),
    close: async () => {
      await connection.close();
      await nativeConnection.close();
    },
  };
}

/** Runs the `carebell` CLI as a user would (bin/carebell.js) and collects its output. */
export function runCarebell(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['bin/carebell.js', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** The environment of a separate worker process (processes/worker.ts) on the test services. */
export function workerProcessEnv(options: {
  databaseUrl: string;
  appDatabaseUrl: string;
  taskQueue: string;
  dataDir: string;
  peers: LocalPeers;
}): Record<string, string | undefined> {
  const { peers } = options;
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    CAREBELL_DATA_DIR: options.dataDir,
    DATABASE_URL: options.databaseUrl,
    CAREBELL_APP_DATABASE_URL: options.appDatabaseUrl,
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_TASK_QUEUE: options.taskQueue,
    // A sweep at 06:00 UTC would enroll and message the shared database's patients mid-test.
    CAREBELL_SWEEPS: 'paused',
    TWILIO_ACCOUNT_SID: peers.twilio.accountSid,
    TWILIO_AUTH_TOKEN: peers.twilio.authToken,
    TWILIO_FROM_NUMBER: peers.twilio.fromNumber,
    TWILIO_API_BASE_URL: peers.twilio.apiBaseUrl,
    SMTP_URL: peers.smtpSettings.url,
    SMTP_FROM: peers.smtpSettings.from,
    SMTP_CA_FILE: peers.smtpSettings.caFile,
    ...testKeyRingEnv(),
  };
}

/** Starts processes/worker.ts and resolves once it polls. */
export async function spawnWorker(env: Record<string, string | undefined>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'processes/worker.ts'], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error('worker did not start within 60s')), 60_000);
    lines.on('line', (line) => {
      if (line.includes('"worker running"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`worker exited early with ${code}`)));
  });
  return child;
}

export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

export async function waitFor(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
