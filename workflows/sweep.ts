// A sweep visits every clinic's active patients a page at a time and enrolls those due. Its position
// lives in workflow state, so after a crash (worker, server or both) it resumes at the page it was on;
// the page itself is idempotent. Pages are paced to a rate of journey starts.
import { continueAsNew, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { sweepProgressQuery, type SweepInput, type SweepProgress } from '../domain/sweep';

const { listClinicIds, sweepBatch } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

const PAGES_PER_RUN = 200;

export async function sweepWorkflow(input: SweepInput): Promise<SweepProgress> {
  const batchSize = input.batchSize ?? 100;
  const startsPerSecond = input.startsPerSecond ?? 20;
  const progress: SweepProgress = input.resume ?? {
    asOf: Date.now(),
    clinicIds: [],
    clinicIndex: 0,
    after: null,
    scanned: 0,
    enrolled: 0,
    alreadyEnrolled: 0,
    pages: 0,
  };
  setHandler(sweepProgressQuery, () => progress);
  if (!input.resume) progress.clinicIds = await listClinicIds();

  let pagesThisRun = 0;
  while (progress.clinicIndex < progress.clinicIds.length) {
    if (pagesThisRun >= PAGES_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof sweepWorkflow>({ ...input, resume: progress });
    }
    pagesThisRun++;
    const started = Date.now();
    const page = await sweepBatch({
      sweep: input.sweep,
      clinicId: progress.clinicIds[progress.clinicIndex]!,
      after: progress.after,
      limit: batchSize,
      asOf: progress.asOf,
    });
    progress.scanned += page.scanned;
    progress.enrolled += page.enrolled;
    progress.alreadyEnrolled += page.alreadyEnrolled;
    progress.pages++;
    if (page.last === null) {
      progress.clinicIndex++;
      progress.after = null;
    } else {
      progress.after = page.last;
    }
    const pace = (page.enrolled * 1000) / startsPerSecond - (Date.now() - started);
    if (pace > 0) await sleep(pace);
  }
  return progress;
}
