// Daily: the message archive past each clinic's retention period is deleted, clinic by clinic.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { PurgeCounts } from '../domain/purge';

const { listClinicIds, purgeClinicArchive } = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '2 minutes',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: 10,
  },
});

export async function purgeArchiveWorkflow(): Promise<PurgeCounts & { clinics: number }> {
  const total = { clinics: 0, contents: 0, links: 0 };
  for (const clinicId of await listClinicIds()) {
    const done = await purgeClinicArchive(clinicId);
    total.clinics += 1;
    total.contents += done.contents;
    total.links += done.links;
  }
  return total;
}
