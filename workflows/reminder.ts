import { proxyActivities, proxyLocalActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { isFailureOf, nonRetryableErrorTypes } from '../domain/errors';
import type { ReminderInput, ReminderResult } from '../domain/reminder';
import { isActivityFailure, unsentReason } from './activity-failure';

const resolving = {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes },
} as const;
// The send activity checks, records and sends in one round-trip. A provider outage is retried for up to a
// day; after that the delivery is recorded as failed rather than silently dropped.
const sending = {
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '24 hours',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '10 minutes',
    nonRetryableErrorTypes,
  },
} as const;
// Reminders started before revision 1 ran both as activities and replay so.
const remote = {
  resolveDueTime: proxyActivities<Activities>(resolving).resolveDueTime,
  sendReminder: proxyActivities<Activities>(sending).sendReminder,
};
// Local activities: no activity task and no workflow task of their own. Safe to repeat after a lost
// workflow task: resolving only reads, and the delivery row, claimed under a unique key, finds a first send.
const local = {
  resolveDueTime: proxyLocalActivities<Activities>(resolving).resolveDueTime,
  sendReminder: proxyLocalActivities<Activities>(sending).sendReminder,
};

const { recordUnsentDelivery } = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

export async function reminderWorkflow(input: ReminderInput): Promise<ReminderResult> {
  const { resolveDueTime, sendReminder } =
    ((input.revision as number | undefined) ?? 0) >= 1 ? local : remote;
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
      if (isActivityFailure(error) && !isFailureOf(error, 'PatientNotFound')) {
        return await recordUnsentDelivery({ ...send, dueAt, reason: unsentReason(error) });
      }
      throw error;
    }
  }
}
