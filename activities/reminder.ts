import type { Delivery } from '../db/schema';
import type { ReminderResult, SendReminderInput, SendReminderOutcome } from '../domain/reminder';
import type { ActivityDeps } from './deps';
import { createSendPath, type SendRequest } from './dispatch';

function toResult(delivery: Delivery): ReminderResult {
  if (delivery.status === 'pending') throw new Error('a pending delivery has no result yet');
  return {
    deliveryId: delivery.id,
    status: delivery.status,
    channel: delivery.channel,
    providerMessageId: delivery.providerMessageId,
    reason: delivery.reason,
    dueAt: delivery.dueAt.getTime(),
  };
}

/** A one-off reminder is a transactional message to the patient's preferred channel, then the other. */
const asRequest = (input: SendReminderInput): SendRequest => ({
  ...input,
  category: 'transactional',
  channels: 'preferred',
  facts: {},
});

export function createReminderActivities(deps: ActivityDeps) {
  const sendPath = createSendPath(deps);

  return {
    /** The whole send path in one activity (one Temporal round trip), under every rule. */
    async sendReminder(input: SendReminderInput): Promise<SendReminderOutcome> {
      const result = await sendPath.send(asRequest(input));
      return result.kind === 'defer' ? result : { kind: 'done', result: toResult(result.delivery) };
    },

    /** Closes a delivery that could not be handed off in time, so nothing due disappears silently. */
    async recordUnsentDelivery(input: SendReminderInput & { reason: string }): Promise<ReminderResult> {
      return toResult(await sendPath.close(asRequest(input), { status: 'failed', reason: input.reason }));
    },
  };
}
