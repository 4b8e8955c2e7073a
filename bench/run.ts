// `npm run bench [-- [--full] [--json] [--cluster] [--keep] [name …]]`: carebell against raw Temporal
// baselines measured in the same run on the same services, each figure beside its baseline and their
// ratio, because absolute rates on shared cores move from run to run and ratios much less.
//
// The benchmarks run in a child (bench/main.ts) whose standard output goes to this process's standard
// error, with its progress: the services it starts write to their inherited standard output (the Temporal
// dev server prints a banner), and `--json` must print nothing but the report. The child hands the report
// over its IPC channel; its exit code is this one's (non-zero on a duplicate or lost message).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { table, type Report } from './results';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(
    'usage: npm run bench -- [--full] [--json] [--cluster] [--keep] [name …]\n' +
      '  --full     the full scale (10,000 enrollments, 20,000 sleepers; under 30 minutes with the suite);\n' +
      '             without it a reduced scale, under 10 minutes\n' +
      '  --json     print the JSON report instead of the table (also written to bench/results/)\n' +
      "  --cluster  Temporal's own server (v1.29.1) on the embedded PostgreSQL and two carebell workers,\n" +
      '             instead of the dev server and one (see the README, "Scaling out")\n' +
      "  --keep     keep the run's data dir (databases, the peers' messages, process logs)\n" +
      '  name       throughput, audit, latency, api-events, enrollment, sleepers, suite: run only these;\n' +
      '             suite (npm test) runs only with --full or when named\n',
  );
  process.exit(0);
}

const child = spawn(
  process.execPath,
  ['--import', 'tsx', fileURLToPath(new URL('./main.ts', import.meta.url)), ...args],
  {
    stdio: ['ignore', process.stderr, process.stderr, 'ipc'],
  },
);
let report: Report | undefined;
child.on('message', (message: { report: Report }) => {
  report = message.report;
});
// Ctrl-C reaches the child too (same process group); it stops its services, then exits.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
child.once('exit', (code, signal) => {
  if (report)
    process.stdout.write(args.includes('--json') ? `${JSON.stringify(report, null, 2)}\n` : table(report));
  process.exit(code ?? (signal ? 1 : 0));
});
