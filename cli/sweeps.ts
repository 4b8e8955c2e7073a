import { ScheduleNotFoundError, WorkflowFailedError } from '@temporalio/client';
import type { Config } from '../config';
import { sweepByKey, sweeps } from '../journeys/sweeps';
import { sweepProgressQuery, sweepScheduleId, sweepWorkflowId, type SweepProgress } from '../domain/sweep';
import type { sweepWorkflow } from '../workflows/sweep';
import { withCarebell } from './connect';
import { CliError, printJson, progress } from './output';

export async function sweepsListCommand(config: Config, options: { json?: boolean }): Promise<void> {
  const listed = await withCarebell(config, ({ client, taskQueue }) =>
    Promise.all(
      sweeps().map(async (sweep) => {
        const scheduleId = sweepScheduleId(taskQueue, sweep.key);
        const described = await client.schedule
          .getHandle(scheduleId)
          .describe()
          .catch(() => undefined);
        return {
          key: sweep.key,
          journey: sweep.journey,
          cron: sweep.cron,
          description: sweep.description,
          scheduleId: described ? scheduleId : null,
          paused: described?.state.paused ?? false,
          nextRun: described?.info.nextActionTimes[0]?.toISOString() ?? null,
          lastRun: described?.info.recentActions.at(-1)?.takenAt.toISOString() ?? null,
        };
      }),
    ),
  );
  if (options.json) return printJson(listed);
  for (const sweep of listed) {
    process.stdout.write(
      `${sweep.key.padEnd(18)} ${sweep.journey.padEnd(24)} cron "${sweep.cron}" UTC  ${sweep.paused ? 'PAUSED (`carebell sweeps resume`)' : `next ${sweep.nextRun ?? '(no schedule yet: start a worker)'}`}\n` +
        `${''.padEnd(18)} ${sweep.description}\n`,
    );
  }
}

/**
 * Pauses or resumes the schedules of the named sweeps (all of them when none is named). The state is
 * the schedule's own, in Temporal: it holds across worker restarts and deploys until changed here.
 */
export async function sweepsToggleCommand(
  config: Config,
  action: 'pause' | 'resume',
  keys: string[],
  options: { note?: string; json?: boolean },
): Promise<void> {
  const chosen = keys.length === 0 ? sweeps().map((sweep) => sweep.key) : keys;
  for (const key of chosen) knownSweep(key);
  const note = options.note ?? `${action}d with carebell sweeps ${action}`;
  const done = await withCarebell(config, ({ client, taskQueue }) =>
    Promise.all(
      chosen.map(async (key) => {
        const handle = client.schedule.getHandle(sweepScheduleId(taskQueue, key));
        try {
          await (action === 'pause' ? handle.pause(note) : handle.unpause(note));
        } catch (error) {
          if (error instanceof ScheduleNotFoundError)
            throw new CliError(`sweep ${key} has no schedule yet: start a worker first`);
          throw error;
        }
        return { key, paused: action === 'pause' };
      }),
    ),
  );
  if (options.json) return printJson(done);
  for (const sweep of done)
    process.stdout.write(`${sweep.key} ${action === 'pause' ? 'paused' : 'resumed'}\n`);
}

/** Refuses an unknown sweep, naming the known ones. */
function knownSweep(key: string): void {
  try {
    sweepByKey(key);
  } catch (error) {
    throw new CliError((error as Error).message, 2);
  }
}

export interface SweepRunOptions {
  batchSize: string;
  rate: string;
  wait?: boolean;
  json?: boolean;
}

function positiveInteger(flag: string, value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new CliError(`${flag} must be a whole number ≥ 1`, 2);
  return number;
}

const describeProgress = (done: SweepProgress) =>
  `clinic ${Math.min(done.clinicIndex + 1, done.clinicIds.length)}/${done.clinicIds.length}: ` +
  `${done.scanned} patients scanned, ${done.enrolled} enrolled, ${done.alreadyEnrolled} already enrolled`;

/** Runs a sweep now, outside its schedule; with --wait, shows its progress until it is done. */
export async function sweepsRunCommand(config: Config, key: string, options: SweepRunOptions): Promise<void> {
  knownSweep(key);
  const batchSize = positiveInteger('--batch-size', options.batchSize);
  const startsPerSecond = positiveInteger('--rate', options.rate);
  await withCarebell(config, async ({ client, taskQueue }) => {
    const handle = await client.workflow.start<typeof sweepWorkflow>('sweepWorkflow', {
      workflowId: sweepWorkflowId(taskQueue, key, `manual-${Date.now()}`),
      taskQueue,
      args: [{ sweep: key, batchSize, startsPerSecond }],
    });
    if (!options.wait) {
      if (options.json) printJson({ workflowId: handle.workflowId });
      else progress(`sweep ${key} started as ${handle.workflowId}`);
      return;
    }
    progress(`sweep ${key} started as ${handle.workflowId}`);
    const ticker = setInterval(() => {
      handle
        .query(sweepProgressQuery)
        .then((done) => progress(`  ${describeProgress(done)}`))
        .catch(() => {});
    }, 2000);
    try {
      const result = await handle.result();
      if (options.json) printJson({ workflowId: handle.workflowId, ...result });
      else process.stdout.write(`sweep ${key} done: ${describeProgress(result)}\n`);
    } catch (error) {
      if (error instanceof WorkflowFailedError)
        throw new CliError(`sweep ${key} failed: ${error.cause?.message ?? error.message}`);
      throw error;
    } finally {
      clearInterval(ticker);
    }
  });
}
