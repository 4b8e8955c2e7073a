// `npm test`: provisions the Temporal binaries, starts a throw-away PostgreSQL and Temporal dev server,
// runs every test file against them with node's test runner, and stops everything afterwards.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cacheDir, loadConfig } from '../config';
import { startServices } from '../infra/services';
import { resolveTemporalCli, resolveTestServer } from '../infra/temporal-binaries';
import { createLogger } from '../infra/logger';
import { installTemporalRuntime } from '../infra/temporal-runtime';

const say = (line: string) => process.stdout.write(`[test setup] ${line}\n`);
installTemporalRuntime(createLogger('warn'));

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'carebell-test-'));
const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : (await fs.readdir('test', { recursive: true }))
      .filter((name) => name.endsWith('.test.ts'))
      .sort()
      .map((name) => path.join('test', name));

const started = Date.now();
const [cli, testServer] = [
  await resolveTemporalCli({
    cacheRoot: cacheDir(),
    explicitPath: process.env.TEMPORAL_CLI_PATH,
    progress: say,
  }),
  await resolveTestServer({
    cacheRoot: cacheDir(),
    explicitPath: process.env.TEMPORAL_TEST_SERVER_PATH,
    progress: say,
  }),
];
say(
  `Temporal binaries ready in ${((Date.now() - started) / 1000).toFixed(1)}s (${cli.source}, ${testServer.source})`,
);

// Tests always run on their own throw-away services, never on a configured deployment.
const config = loadConfig({ CAREBELL_DATA_DIR: dataDir, TEMPORAL_CLI_PATH: cli.path });
// Test files start their own peers, to inspect what arrives.
const services = await startServices(config, {
  persistent: false,
  fixedPorts: false,
  localPeers: false,
  progress: say,
});

let exitCode: number;
try {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
    {
      stdio: 'inherit',
      env: {
        ...process.env,
        CAREBELL_TEST_DATABASE_URL: services.endpoints.ownerDatabaseUrl,
        CAREBELL_TEST_APP_DATABASE_URL: services.endpoints.databaseUrl,
        CAREBELL_TEST_TEMPORAL_ADDRESS: services.endpoints.temporal.address,
        CAREBELL_TEST_DATA_DIR: dataDir,
        TEMPORAL_CLI_PATH: cli.path ?? '',
        TEMPORAL_TEST_SERVER_PATH: testServer.path ?? '',
      },
    },
  );
  exitCode = await new Promise<number>((resolve) => child.once('close', (code) => resolve(code ?? 1)));
} finally {
  await services.stop();
  await fs.rm(dataDir, { recursive: true, force: true });
}
process.exit(exitCode);
