// Hourly: enrollments whose journey was stopped from outside Temporal's normal course (terminated, timed
// out, reset away) are closed, so reports and timelines never count them as running.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

const { listClinicIds, reconcileClinicEnrollments } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: 10,
  },
});

export async function reconcileWorkflow(): Promise<number> {
  let closed = 0;
  for (const clinicId of await listClinicIds()) closed += await reconcileClinicEnrollments(clinicId);
  return closed;
}
