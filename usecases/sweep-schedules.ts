// One Temporal Schedule per sweep in journeys/sweeps.json. Every worker makes sure they exist and match
// the sweeps it was deployed with, so a changed cron takes effect on the next deploy.
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptions,
  type ScheduleOptionsStartWorkflowAction,
} from '@temporalio/client';
import { sweeps } from '../journeys/sweeps';
import { purgeScheduleId, purgeWorkflowId } from '../domain/purge';
import { reconcileScheduleId, reconcileWorkflowId } from '../domain/reconcile';
import { sweepScheduleId, sweepWorkflowId, type SweepWorkflow } from '../domain/sweep';

/**
 * The sweeps' schedules, the hourly enrollment reconciler's and the daily archive purge's. With `paused`,
 * a sweep's schedule is created paused (CAREBELL_SWEEPS=paused); after that, the schedule's state is the
 * operators' (`carebell sweeps pause|resume`): no deploy or restart changes it.
 */
export async function ensureSweepSchedules(
  client: Client,
  taskQueue: string,
  { paused = false }: { paused?: boolean } = {},
): Promise<string[]> {
  const ids: string[] = [];
  for (const sweep of sweeps()) {
    const options: ScheduleOptions<ScheduleOptionsStartWorkflowAction<SweepWorkflow>> = {
      scheduleId: sweepScheduleId(taskQueue, sweep.key),
      spec: { cronExpressions: [sweep.cron] },
      action: {
        type: 'startWorkflow',
        workflowType: 'sweepWorkflow',
        workflowId: sweepWorkflowId(taskQueue, sweep.key),
        taskQueue,
        args: [{ sweep: sweep.key }],
      },
      // A sweep still running when the next is due is left to finish; a short outage is caught up.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
      memo: { description: sweep.description },
      state: paused ? { paused: true, note: SWEEPS_PAUSED_NOTE } : undefined,
    };
    await ensureSchedule(client, options);
    ids.push(options.scheduleId);
  }
  await ensureSchedule(client, {
    scheduleId: reconcileScheduleId(taskQueue),
    spec: { cronExpressions: ['17 * * * *'] },
    action: {
      type: 'startWorkflow',
      workflowType: 'reconcileWorkflow',
      workflowId: reconcileWorkflowId(taskQueue),
      taskQueue,
      args: [],
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
    memo: { description: 'closes enrollments whose journeys were stopped from outside' },
  });
  ids.push(reconcileScheduleId(taskQueue));
  await ensureSchedule(client, {
    scheduleId: purgeScheduleId(taskQueue),
    spec: { cronExpressions: ['43 3 * * *'] },
    action: {
      type: 'startWorkflow',
      workflowType: 'purgeArchiveWorkflow',
      workflowId: purgeWorkflowId(taskQueue),
      taskQueue,
      args: [],
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
    memo: { description: "deletes the message archive past each clinic's retention period" },
  });
  ids.push(purgeScheduleId(taskQueue));
  return ids;
}

export const SWEEPS_PAUSED_NOTE = 'created paused (CAREBELL_SWEEPS=paused)';

// A server that has just started (or is busy) may fail a describe while the schedule's own workflow is
// still starting: seen as "Failed to describe schedule" right after a create the client retried.
const ATTEMPTS = 5;
const RETRY_AFTER_MS = 2_000;

async function ensureSchedule(client: Client, options: ScheduleOptions) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await createOrUpdate(client, options);
    } catch (error) {
      if (attempt >= ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, RETRY_AFTER_MS * attempt));
    }
  }
}

async function createOrUpdate(client: Client, options: ScheduleOptions) {
  try {
    await client.schedule.create(options);
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    await client.schedule.getHandle(options.scheduleId).update((previous) => ({
      ...previous,
      spec: options.spec,
      action: options.action,
      policies: { ...previous.policies, ...options.policies },
    }));
  }
}
