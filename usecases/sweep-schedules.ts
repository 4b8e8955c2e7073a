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
import { sweepScheduleId, sweepWorkflowId, type SweepWorkflow } from '../domain/sweep';

export async function ensureSweepSchedules(client: Client, taskQueue: string): Promise<string[]> {
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
    };
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
    ids.push(options.scheduleId);
  }
  return ids;
}
