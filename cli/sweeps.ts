import { WorkflowFailedError } from '@temporalio/client';
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
          nextRun: described?.info.nextActionTimes[0]?.toISOString() ?? null,
          lastRun: described?.info.recentActions.at(-1)?.takenAt.toISOString() ?? null,
        };
      }),
    ),
  );
  if (options.json) return printJson(listed);
  for (const sweep of listed) {
    process.stdout.write(
      `${sweep.key.padEnd(18)} ${sweep.journey.padEnd(24)} cron "${sweep.cron}" UTC  next ${sweep.nextRun ?? '(no schedule yet: start a worker)'}\n` +
        `${''.padEnd(18)} ${sweep.description}\n`,
    );
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
  try {
    sweepByKey(key);
  } catch (error) {
    throw new CliError((error as Error).message, 2);
  }
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
