// `npm test`: provisions the Temporal binaries, starts a throw-away PostgreSQL and Temporal dev server,
// runs every test file against them, and stops everything afterwards. With `--checks` (what `npm test`
// passes) lint, the format check, the import-cycle check and the typecheck run alongside.
//
// Test files are isolated from each other (own database, task queues, ports, peers, data dirs), so they run
// side by side, each in a node process of its own: most of a file's time is spent waiting on Temporal
// timers, retries and child processes, not on the CPU. The longest files start first (by the durations
// of the last run on this machine, kept in the cache dir, else by folder), so the run is not left
// waiting on one long file that started last. Each file's report is printed whole when it ends.
//
//   tsx test/run.ts [--checks] [files…]     CAREBELL_TEST_CONCURRENCY=N (default 5) files at a time
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildCli, prebuiltCli } from '../bin/prebuilt-cli.mjs';
import { cacheDir, loadConfig } from '../config';
import { startServices } from '../infra/services';
import { resolveTemporalCli, resolveTestServer } from '../infra/temporal-binaries';
import { createLogger } from '../infra/logger';
import { installTemporalRuntime } from '../infra/temporal-runtime';
import { buildWorkflowBundle, workflowCode } from '../worker/workflow-bundle';
import { withClassDataSharing } from './support/test-server-wrapper';

const say = (line: string) => process.stdout.write(`[test setup] ${line}\n`);
installTemporalRuntime(createLogger('warn'));

const args = process.argv.slice(2);
const withChecks = args.includes('--checks');
const named = args.filter((arg) => arg !== '--checks');
const concurrency = Math.max(1, Number(process.env.CAREBELL_TEST_CONCURRENCY) || 5);
const secondsSince = (start: number) => (Date.now() - start) / 1000;
const started = Date.now();

interface Job {
  name: string;
  command: string[];
  env?: NodeJS.ProcessEnv;
  /** Expected seconds, to start the longest first. */
  weight: number;
}
interface Outcome {
  job: Job;
  code: number | null;
  seconds: number;
  output: string;
}

const running = new Set<ChildProcess>();

/** Runs a job with its output collected, then prints the output whole. */
function runJob(job: Job): Promise<Outcome> {
  const start = Date.now();
  let command = job.command;
  // CAREBELL_TEST_CPU=1: bash's `times` adds the CPU time of the job and everything it waited for.
  if (process.env.CAREBELL_TEST_CPU)
    command = ['bash', '-c', '"$@"; code=$?; times >&2; exit $code', 'job', ...command];
  const child = spawn(command[0]!, command.slice(1), {
    env: job.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve) => {
    child.once('error', (error) => chunks.push(Buffer.from(`${String(error)}\n`)));
    child.once('close', (code, signal) => {
      running.delete(child);
      const outcome: Outcome = {
        job,
        code: code ?? (signal ? 128 : 1),
        seconds: secondsSince(start),
        output: Buffer.concat(chunks).toString(),
      };
      const mark = outcome.code === 0 ? '✔' : '✖';
      process.stdout.write(
        `\n──── ${mark} ${job.name} (${outcome.seconds.toFixed(1)} s, exit ${outcome.code}) ────\n${outcome.output}`,
      );
      resolve(outcome);
    });
  });
}

/** Runs jobs `limit` at a time, heaviest first. */
async function runPool(jobs: Job[], limit: number): Promise<Outcome[]> {
  const queue = [...jobs].sort((a, b) => b.weight - a.weight);
  const outcomes: Outcome[] = [];
  await Promise.all(
    Array.from({ length: Math.min(limit, queue.length) }, async () => {
      for (let job = queue.shift(); job; job = queue.shift()) outcomes.push(await runJob(job));
    }),
  );
  return outcomes;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const child of running) child.kill('SIGTERM');
  });
}

// Lint and typecheck, as `npm run lint` and `npm run typecheck` do. The format check and the typecheck
// keep caches (by content) outside the checkout, in a folder of their own per checkout; ESLint keeps none,
// since its cache would not notice that a change in one file alters a type-aware rule's verdict in another.
const checksCache = path.join(
  cacheDir(),
  'checks',
  createHash('sha256').update(process.cwd()).digest('hex').slice(0, 16),
);
const bin = (file: string) => path.join('node_modules', file);
const checks: Job[] = withChecks
  ? [
      { name: 'lint: eslint', command: [process.execPath, bin('eslint/bin/eslint.js'), '.'], weight: 1000 },
      {
        name: 'typecheck: tsc',
        command: [
          process.execPath,
          bin('typescript/bin/tsc'),
          '--noEmit',
          '--incremental',
          '--tsBuildInfoFile',
          path.join(checksCache, 'tsc.tsbuildinfo'),
        ],
        weight: 999,
      },
      {
        name: 'lint: prettier',
        command: [
          process.execPath,
          bin('prettier/bin/prettier.cjs'),
          '--check',
          '--cache',
          '--cache-strategy',
          'content',
          '--cache-location',
          path.join(checksCache, 'prettier-cache'),
          '.',
        ],
        weight: 998,
      },
      { name: 'lint: cycles', command: ['npm', 'run', '--silent', 'lint:cycles'], weight: 997 },
    ]
  : [];
if (withChecks) await fs.mkdir(checksCache, { recursive: true });
// They need no services: start them now, alongside the setup below.
const checksDone = runPool(checks, 2);

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'carebell-test-'));
const files = named.length
  ? named
  : (await fs.readdir('test', { recursive: true }))
      .filter((name) => name.endsWith('.test.ts'))
      .sort()
      .map((name) => path.join('test', name));

const timingsFile = path.join(cacheDir(), 'test-durations.json');
const timings = (await fs
  .readFile(timingsFile, 'utf8')
  .then((text) => JSON.parse(text) as Record<string, number>)
  .catch(() => ({}))) as Record<string, number>;
// Without a previous run: the folders whose files start processes and servers first.
const FOLDER_WEIGHT: Record<string, number> = {
  e2e: 60,
  api: 30,
  activities: 30,
  workflows: 30,
  usecases: 20,
};
const weightOf = (file: string) => timings[file] ?? FOLDER_WEIGHT[path.basename(path.dirname(file))] ?? 5;

const [cli, testServer] = await Promise.all([
  resolveTemporalCli({ cacheRoot: cacheDir(), explicitPath: process.env.TEMPORAL_CLI_PATH, progress: say }),
  resolveTestServer({
    cacheRoot: cacheDir(),
    explicitPath: process.env.TEMPORAL_TEST_SERVER_PATH,
    progress: say,
  }),
]);
say(`Temporal binaries ready in ${secondsSince(started).toFixed(1)}s (${cli.source}, ${testServer.source})`);

// Tests always run on their own throw-away services, never on a configured deployment.
const config = loadConfig({ CAREBELL_DATA_DIR: dataDir, TEMPORAL_CLI_PATH: cli.path });
// The workflow bundle `npm run build` writes, so that test workers, spawned workers and `npm start` load
// it rather than each bundling the workflow code again (seconds of CPU each). Workers check that it
// matches the sources, as in production.
// The CLI is compiled once too: the tests run `carebell` dozens of times, each about a second of CPU
// through tsx and half that compiled.
const bundled = Promise.all([
  (async () => {
    if ((await workflowCode()).prebuilt) return say('workflow bundle is current');
    const bundleStart = Date.now();
    const { file } = await buildWorkflowBundle();
    say(`workflow bundle built in ${secondsSince(bundleStart).toFixed(1)}s (${path.relative('.', file)})`);
  })(),
  (async () => {
    if (await prebuiltCli()) return say('compiled CLI is current');
    const buildStart = Date.now();
    const { dir } = await buildCli();
    say(`CLI compiled in ${secondsSince(buildStart).toFixed(1)}s (${path.relative('.', dir)})`);
  })(),
]);
bundled.catch(() => undefined); // awaited below, once the services are up
const testServerPath = withClassDataSharing(testServer.path, dataDir, say);
// Test files start their own peers, to inspect what arrives.
const services = await startServices(config, {
  persistent: false,
  fixedPorts: false,
  localPeers: false,
  progress: say,
});

let failed: Outcome[] | undefined;
try {
  await bundled;
  const timeSkippingServer = await testServerPath;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CAREBELL_TEST_DATABASE_URL: services.endpoints.ownerDatabaseUrl,
    CAREBELL_TEST_APP_DATABASE_URL: services.endpoints.databaseUrl,
    CAREBELL_TEST_TEMPORAL_ADDRESS: services.endpoints.temporal.address,
    CAREBELL_TEST_DATA_DIR: dataDir,
    TEMPORAL_CLI_PATH: cli.path ?? '',
    TEMPORAL_TEST_SERVER_PATH: timeSkippingServer ?? '',
  };
  say(
    `running ${files.length} test files, ${concurrency} at a time (setup took ${secondsSince(started).toFixed(1)}s)`,
  );
  const tests = await runPool(
    files.map((file) => ({
      name: file,
      command: [process.execPath, '--import', 'tsx', '--test-reporter=spec', file],
      env,
      weight: weightOf(file),
    })),
    concurrency,
  );
  const outcomes = [...(await checksDone), ...tests];
  failed = outcomes.filter((outcome) => outcome.code !== 0);

  for (const outcome of tests) timings[outcome.job.name] = Math.round(outcome.seconds * 10) / 10;
  const written = `${timingsFile}.${process.pid}`;
  await fs.writeFile(written, `${JSON.stringify(timings, null, 2)}\n`);
  await fs.rename(written, timingsFile);

  const counts: Record<string, number> = {};
  for (const outcome of tests) {
    for (const [, key, value] of outcome.output.matchAll(
      /^ℹ (tests|pass|fail|cancelled|skipped|todo) (\d+)$/gm,
    ))
      counts[key!] = (counts[key!] ?? 0) + Number(value);
  }
  process.stdout.write('\n──── summary ────\n');
  for (const outcome of [...outcomes].sort((a, b) => b.seconds - a.seconds))
    process.stdout.write(
      `${outcome.code === 0 ? '✔' : '✖'} ${outcome.seconds.toFixed(1).padStart(6)} s  ${outcome.job.name}\n`,
    );
  process.stdout.write(
    `${Object.entries(counts)
      .map(([key, value]) => `${key} ${value}`)
      .join(
        ', ',
      )}\n${outcomes.length - failed.length} of ${outcomes.length} jobs passed in ${secondsSince(started).toFixed(1)} s\n`,
  );
  // Again at the very end, with why: a CI log cut to its head and tail still names the cause.
  for (const outcome of failed)
    process.stdout.write(`✖ failed: ${outcome.job.name}\n${indent(whyFailed(outcome.output))}\n`);
} finally {
  for (const child of running) child.kill('SIGTERM');
  await checksDone.catch(() => undefined);
  await services.stop();
  await fs.rm(dataDir, { recursive: true, force: true });
}
process.exit(failed?.length === 0 ? 0 : 1);

/** A failed job's own account of its failures (node:test's closing list), else the end of its output. */
function whyFailed(output: string): string {
  const lines = (text: string) => text.trimEnd().split('\n');
  const list = output.lastIndexOf('✖ failing tests:');
  if (list !== -1) return lines(output.slice(list)).slice(0, 80).join('\n');
  return lines(output).slice(-40).join('\n');
}

function indent(text: string): string {
  return text.replace(/^/gm, '    ');
}
