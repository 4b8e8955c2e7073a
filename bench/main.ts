// The benchmarks themselves, run by bench/run.ts as a child process (see there why). Chooses what runs at
// which scale, builds the shared context once, runs each benchmark, writes the report to bench/results/
// and hands it to run.ts; exits non-zero when a message was counted twice or not at all at the peers, or
// a benchmark could not run.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createLogger } from '../infra/logger';
import { installTemporalRuntime } from '../infra/temporal-runtime';
import { apiEvents } from './api-events';
import { audit } from './audit';
import { createContext, type BenchContext } from './context';
import { enrollment } from './enrollment';
import { latency } from './latency';
import type { DeliveryCheck } from './peer-arrivals';
import { describeMachine, saveReport, skipped, table, type BenchOutcome, type BenchResult } from './results';
import { SCALES } from './scale';
import { sleepers } from './sleepers';
import { suite } from './suite';
import { throughput } from './throughput';

const here = fileURLToPath(new URL('.', import.meta.url));

/** In the order they run: the send path first, the heavy population of sleepers last, the suite alone. */
const BENCHMARKS: Record<string, { results: string[]; run: (ctx: BenchContext) => Promise<BenchOutcome> }> = {
  throughput: { results: ['throughput', 'actions-per-send'], run: throughput },
  audit: { results: ['audit'], run: audit },
  latency: { results: ['latency-p50', 'latency-p99'], run: latency },
  'api-events': { results: ['api-events', 'fhir-entries'], run: apiEvents },
  enrollment: { results: ['enrollment', 'enrollment-10k'], run: enrollment },
  sleepers: {
    results: [
      'sleepers-rss',
      'sleepers-rss-per-journey',
      'sleepers-db-growth',
      'sleepers-replay',
      'sleepers-wake-p50',
      'sleepers-wake-p99',
    ],
    run: sleepers,
  },
};
const NAMES = [...Object.keys(BENCHMARKS), 'suite'];

const { values: flags, positionals } = parseOptions();
const unknown = positionals.filter((name) => !NAMES.includes(name));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark ${unknown.join(', ')}: choose from ${NAMES.join(', ')}\n`);
  process.exit(2);
}
const selected = positionals.length > 0 ? NAMES.filter((name) => positionals.includes(name)) : NAMES;
const runSuite = selected.includes('suite') && (flags.full || positionals.includes('suite'));
const scale = SCALES[flags.full ? 'full' : 'reduced'];
const say = (line: string) => process.stderr.write(`[bench] ${line}\n`);
installTemporalRuntime(createLogger('error'));

const machine = describeMachine();
const startedAt = new Date();
const results: BenchResult[] = [];
const checks: DeliveryCheck[] = [];
const failures: string[] = [];
const failed = (name: string, error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  failures.push(`${name}: ${message}`);
  say(`${name} failed: ${message}`);
  for (const resultName of BENCHMARKS[name]?.results ?? [name])
    results.push(skipped(resultName, '', `did not run: ${message}`));
};

let ctx: BenchContext | undefined;
let stopping = false;
// Interrupted: stop the processes and services this run started (keeping the data dir), then go.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping`);
    void (ctx?.close({ keepData: true }) ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

const services = selected.filter((name) => name !== 'suite');
if (services.length > 0) {
  try {
    say(`${scale.name} scale: ${services.join(', ')}`);
    ctx = await createContext({ scale, cluster: flags.cluster, say });
  } catch (error) {
    for (const name of services) failed(name, error);
  }
  if (ctx) {
    for (const name of services) {
      const began = Date.now();
      try {
        const outcome = await BENCHMARKS[name]!.run(ctx);
        results.push(...outcome.results);
        checks.push(...outcome.checks);
        say(`${name} done in ${((Date.now() - began) / 1000).toFixed(0)} s`);
      } catch (error) {
        failed(name, error);
      }
    }
    const troubled = failures.length > 0 || checks.some((check) => check.duplicates > 0 || check.lost > 0);
    await ctx.close({ keepData: flags.keep || troubled });
  }
}
if (selected.includes('suite')) {
  if (runSuite) {
    try {
      const outcome = await suite({
        logFile: path.join(here, 'results', `suite-${stamp(startedAt)}.log`),
        say,
      });
      results.push(...outcome.results);
    } catch (error) {
      failed('suite', error);
    }
  } else {
    results.push(
      skipped('suite', 's', 'npm test runs only with --full or `npm run bench -- suite`', {
        of: 'value',
        op: '<',
        bound: 300,
      }),
    );
  }
}

function stamp(date: Date): string {
  return date.toISOString().replace(/[:.]/g, '-');
}

const report = {
  machine,
  scale: scale.name,
  services: ctx?.services.description,
  startedAt: startedAt.toISOString(),
  wallSeconds: (Date.now() - startedAt.getTime()) / 1000,
  results,
  checks,
};
const file = await saveReport(report, path.join(here, 'results'));
say(`written to ${path.relative(process.cwd(), file)}`);

const duplicates = checks.reduce((sum, check) => sum + check.duplicates, 0);
const lost = checks.reduce((sum, check) => sum + check.lost, 0);
if (duplicates > 0 || lost > 0) say(`FAILED: ${duplicates} duplicate and ${lost} lost messages at the peers`);
if (failures.length > 0) say(`FAILED: ${failures.length} benchmark(s) did not run`);
const code = duplicates > 0 || lost > 0 || failures.length > 0 ? 1 : 0;
// run.ts prints what it is handed; run alone, this prints it itself.
if (process.send) process.send({ report }, () => process.exit(code));
else {
  process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : table(report));
  process.exit(code);
}

function parseOptions() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        full: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        cluster: { type: 'boolean', default: false },
        keep: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    // parseArgs says which option it did not know in its first sentence; the rest is about positionals.
    process.stderr.write(`${(error as Error).message.split('. ')[0]}: see npm run bench -- --help\n`);
    process.exit(2);
  }
}
