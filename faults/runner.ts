// Runs one scenario in a world of its own, checks the invariants whatever happened, and sums it up in
// one line. A scenario that throws is a violation like any other, never a crash of the suite.
import { FaultContext, Violation } from './context';
import { checkInvariants, type InvariantReport } from './invariants';
import type { FaultStack } from './stack';

export type Need = 'temporal-restart' | 'postgres-restart';

export interface Scenario {
  name: string;
  /** What it breaks, in a few words (`npm run faults -- --list`). */
  breaks: string;
  /** Quick, and breaks nothing shared: also runs in `npm test`. */
  fast: boolean;
  /** Parts it crashes, which only a stack of the suite's own offers. */
  needs?: Need[];
  /** How long its workflows get to finish once it is done, before they count as stuck (default 60 s). */
  settleMs?: number;
  /** Builds its own context (e.g. on another Temporal server); by default one on the stack. */
  context?: (stack: FaultStack, name: string) => Promise<FaultContext>;
  run: (ctx: FaultContext) => Promise<void>;
}

export interface ScenarioOutcome {
  name: string;
  ok: boolean;
  seconds: number;
  report?: InvariantReport;
  violations: string[];
  notes: string[];
  /** Worker logs and peer files, kept when something went wrong. */
  keptDir?: string;
}

const running = new Set<FaultContext>();

/** Closes the scenarios in progress (their worker processes, workflows, peers): for a signal. */
export async function closeRunningScenarios(): Promise<void> {
  await Promise.all([...running].map((ctx) => ctx.close(false)));
}

export async function runScenario(stack: FaultStack, scenario: Scenario): Promise<ScenarioOutcome> {
  const started = Date.now();
  const seconds = () => (Date.now() - started) / 1000;
  const missing = (scenario.needs ?? []).filter((need) =>
    need === 'temporal-restart' ? !stack.temporalServer : !stack.postgres,
  );
  if (missing.length > 0) {
    return {
      name: scenario.name,
      ok: false,
      seconds: 0,
      violations: [`needs a stack of its own (${missing.join(', ')}): run it with npm run faults`],
      notes: [],
    };
  }
  let ctx: FaultContext;
  try {
    ctx = await (scenario.context ?? FaultContext.create)(stack, scenario.name);
  } catch (error) {
    return {
      name: scenario.name,
      ok: false,
      seconds: seconds(),
      violations: [`setting up failed: ${describe(error)}`],
      notes: [],
    };
  }
  let report: InvariantReport | undefined;
  running.add(ctx);
  try {
    try {
      await scenario.run(ctx);
    } catch (error) {
      ctx.violations.push(
        error instanceof Violation ? error.message : `the scenario failed: ${describe(error)}`,
      );
    }
    try {
      report = await checkInvariants(ctx, scenario.settleMs ?? 60_000);
    } catch (error) {
      ctx.violations.push(`checking the invariants failed: ${describe(error)}`);
    }
  } finally {
    running.delete(ctx);
    await ctx.close(ctx.violations.length > 0);
  }
  return {
    name: scenario.name,
    ok: ctx.violations.length === 0,
    seconds: seconds(),
    report,
    violations: ctx.violations,
    notes: ctx.notes,
    keptDir: ctx.violations.length > 0 ? ctx.dir : undefined,
  };
}

/** `✔ name  deliveries 1 (sent 1)  peer duplicates 0  stuck 0  active-enrollments 0  audit ok  4.2s  [notes]` */
export function formatOutcome(outcome: ScenarioOutcome, nameWidth = 0): string {
  const { report } = outcome;
  const parts = [`${outcome.ok ? '✔' : '✘'} ${outcome.name.padEnd(nameWidth)}`];
  if (report) {
    const statuses = Object.entries(report.byStatus)
      .map(([status, count]) => `${status} ${count}`)
      .join(', ');
    parts.push(
      `deliveries ${report.deliveries}${statuses ? ` (${statuses})` : ''}`,
      `peer duplicates ${report.peerDuplicates}`,
      `stuck ${report.stuck}`,
      `active-enrollments ${report.activeEnrollments}`,
      `audit ${report.audit}`,
    );
  }
  parts.push(`${outcome.seconds.toFixed(1)}s`);
  if (outcome.notes.length) parts.push(`[${outcome.notes.join('; ')}]`);
  const lines = [parts.join('  ')];
  for (const violation of outcome.violations) lines.push(`    ✘ ${violation}`);
  if (outcome.keptDir) lines.push(`    worker logs and peer files kept in ${outcome.keptDir}`);
  return lines.join('\n');
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name;
  return String(error);
}
