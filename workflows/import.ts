// A bulk import (CSV of patients, FHIR bundle), run in the background and retried until it is through:
// the job row records each batch, so a retry resumes where the last attempt stopped.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ImportInput } from '../domain/import';

const { processImport } = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

export async function importWorkflow(input: ImportInput): Promise<void> {
  await processImport(input);
}
