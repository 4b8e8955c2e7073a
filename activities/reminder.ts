import { claimDelivery } from '../db/queries/deliveries';
import type { Delivery } from '../db/schema';
import type { ReminderResult } from '../domain/reminder';
import { createDispatch, type DispatchInput } from './dispatch';
import { channelOrder } from '../rules/sending';
import type { ActivityDeps } from './deps';

export type SendReminderInput = DispatchInput;

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

export function createReminderActivities(deps: ActivityDeps) {
  const { inClinic, prepare, complete, suppressIfInactive, routes, dispatch } = createDispatch(deps);

  return {
    /**
     * The whole send path in one activity (one Temporal round-trip): claim the delivery row, pick the
     * channel, render in the patient's language, hand off to the provider, complete the row.
     */
    async sendReminder(input: SendReminderInput): Promise<ReminderResult> {
      const prepared = await prepare(input, () => Promise.resolve(undefined));
      if (prepared.delivery.status !== 'pending') return toResult(prepared.delivery);
      const inactive = await suppressIfInactive(input, prepared);
      if (inactive) return toResult(inactive);
      const order = routes(prepared.patient, channelOrder(prepared.patient.preferredChannel));
      return toResult(await dispatch(input, prepared, order));
    },

    /** Closes a delivery that could not be handed off in time, so nothing due disappears silently. */
    async recordUnsentDelivery(input: SendReminderInput & { reason: string }): Promise<ReminderResult> {
      const delivery = await inClinic(input, (tx) =>
        claimDelivery(tx, { ...input, dueAt: new Date(input.dueAt) }),
      );
      return toResult(await complete(input, delivery.id, { status: 'failed', reason: input.reason }));
    },
  };
}
