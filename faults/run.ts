// `npm run faults [-- name…]`: starts a throw-away stack (PostgreSQL, the Temporal dev server persisting
// to a file), runs each scenario against it in a world of its own (database, peers, worker processes),
// prints one line per scenario with its invariant counts, stops everything, and exits non-zero on any
// violation.
import { parseArgs } from 'node:util';
import { createLogger } from '../infra/logger';
import { installTemporalRuntime } from '../infra/temporal-runtime';
import { scenarios } from './index';
import { closeRunningScenarios, formatOutcome, runScenario } from './runner';
import { startOwnStack, type FaultStack } from './stack';

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    list: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (flags.help) {
  process.stdout.write(
    'usage: npm run faults [-- [--list] [scenario…]]\n\n' +
      'Runs every fault scenario (or the named ones) against throw-away services and checks the invariants.\n',
  );
  process.exit(0);
}
if (flags.list) {
  for (const scenario of scenarios)
    process.stdout.write(
      `${scenario.name.padEnd(34)} ${scenario.fast ? '(npm test) ' : ''}${scenario.breaks}\n`,
    );
  process.exit(0);
}
const unknown = positionals.filter((name) => !scenarios.some((scenario) => scenario.name === name));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown scenario(s): ${unknown.join(', ')}; \`npm run faults -- --list\` names them\n`,
  );
  process.exit(2);
}
const selected = positionals.length
  ? scenarios.filter((scenario) => positionals.includes(scenario.name))
  : scenarios;

const say = (line: string) => process.stderr.write(`[faults] ${line}\n`);
installTemporalRuntime(createLogger('error'));

const started = Date.now();
let stack: FaultStack | undefined;
let stopped: Promise<void> | undefined;
const stop = () =>
  (stopped ??= (async () => {
    await closeRunningScenarios();
    await stack?.stop();
  })());
// Whatever goes wrong, the stack and the scenario in progress are stopped: nothing is left running.
for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.once(event, (error: unknown) => {
    process.stdout.write(
      `✘ the fault suite crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    void stop().finally(() => process.exit(1));
  });
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping`);
    void stop().finally(() => process.exit(130));
  });
}

let failed = 0;
try {
  stack = await startOwnStack(say);
  say(`stack ready in ${((Date.now() - started) / 1000).toFixed(1)}s; ${selected.length} scenario(s)`);
  const width = Math.max(...selected.map((scenario) => scenario.name.length));
  for (const scenario of selected) {
    const outcome = await runScenario(stack, scenario);
    if (!outcome.ok) failed++;
    process.stdout.write(`${formatOutcome(outcome, width)}\n`);
  }
} catch (error) {
  failed++;
  process.stdout.write(
    `✘ the fault suite could not run: ${error instanceof Error ? error.message : String(error)}\n`,
  );
} finally {
  await stop();
}
const total = ((Date.now() - started) / 1000).toFixed(0);
process.stdout.write(
  `\n${failed === 0 ? 'all invariants held' : `${failed} of ${selected.length} scenario(s) violated an invariant`} (${total}s)\n`,
);
process.exit(failed === 0 ? 0 : 1);
