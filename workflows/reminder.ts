import { ActivityFailure, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { isFailureOf, nonRetryableErrorTypes } from '../domain/errors';
import type { ReminderInput, ReminderResult } from '../domain/reminder';
import { unsentReason } from './activity-failure';

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
  let dueAt =
    input.due.kind === 'after'
      ? Date.now() + input.due.milliseconds
      : await resolveDueTime({ clinicId: input.clinicId, patientId: input.patientId, due: input.due });
  const send = {
    clinicId: input.clinicId,
    patientId: input.patientId,
    template: input.template,
    idempotencyKey: `${workflowInfo().workflowId}:send`,
  };
  for (;;) {
    if (dueAt > Date.now()) await sleep(dueAt - Date.now());
    try {
      const outcome = await sendReminder({ ...send, dueAt });
      if (outcome.kind === 'done') return outcome.result;
      // Quiet hours or the caps, at the moment of sending: the same delivery, at the next allowed time.
      dueAt = outcome.until;
    } catch (error) {
      if (error instanceof ActivityFailure && !isFailureOf(error, 'PatientNotFound')) {
        return await recordUnsentDelivery({ ...send, dueAt, reason: unsentReason(error) });
      }
      throw error;
    }
  }
}
