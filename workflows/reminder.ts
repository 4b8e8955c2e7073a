import { ActivityFailure, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { isFailureOf, nonRetryableErrorTypes } from '../domain/errors';
import type { ReminderInput, ReminderResult } from '../domain/reminder';

const { resolveDueTime } = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '1 minute',
    nonRetryableErrorTypes,
  },
});

// The send activity checks, records and sends in one round-trip. A provider outage is retried for up to a
// day; after that the delivery is recorded as failed rather than silently dropped.
const { sendReminder } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '24 hours',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '10 minutes',
    nonRetryableErrorTypes,
  },
});

const { recordUnsentDelivery } = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

export async function reminderWorkflow(input: ReminderInput): Promise<ReminderResult> {
  const dueAt =
    input.due.kind === 'after'
      ? Date.now() + input.due.milliseconds
      : await resolveDueTime({ clinicId: input.clinicId, patientId: input.patientId, due: input.due });
  if (dueAt > Date.now()) await sleep(dueAt - Date.now());

  const send = {
    clinicId: input.clinicId,
    patientId: input.patientId,
    template: input.template,
    dueAt,
    idempotencyKey: `${workflowInfo().workflowId}:send`,
  };
  try {
    return await sendReminder(send);
  } catch (error) {
    if (error instanceof ActivityFailure && !isFailureOf(error, 'PatientNotFound')) {
      return await recordUnsentDelivery({ ...send, reason: 'provider-unavailable' });
    }
    throw error;
  }
}
