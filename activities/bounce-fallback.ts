// Falling back to the remaining channels within the same delivery (workflows/bounce-fallback.ts): the delivery
// is reopened and goes through the one send path again, with the template values it was first sent with,
// so every rule (consent, suppressions, quiet hours, caps) holds at the moment of the second send.
import type { Delivery } from '../db/schema';
import { getDelivery } from '../db/queries/deliveries';
import { decryptFacts, reopenForFallback } from '../db/queries/fallback';
import { CarebellError } from '../domain/errors';
import type { BounceFallbackActivities, FallbackInput, FallbackResult } from '../domain/bounce-fallback';
import { CHANNELS } from '../domain/messaging';
import type { ActivityDeps } from './deps';
import { createSendPath, type SendRequest } from './dispatch';

const resultOf = (delivery: Delivery): FallbackResult => ({
  status: delivery.status === 'pending' ? undefined : delivery.status,
  channel: delivery.channel,
  reason: delivery.reason,
});

export function createBounceFallbackActivities(deps: ActivityDeps): BounceFallbackActivities {
  const sendPath = createSendPath(deps);

  const requestFor = (delivery: Delivery, input: FallbackInput, dueAt: number): SendRequest => ({
    clinicId: delivery.clinicId,
    patientId: delivery.patientId,
    template: delivery.template,
    category: delivery.category,
    channels: CHANNELS.filter((channel) => channel !== input.failedChannel),
    facts: decryptFacts(deps.cipher, delivery),
    dueAt,
    idempotencyKey: delivery.idempotencyKey,
    journey:
      delivery.journeyKey && delivery.workflowId
        ? { key: delivery.journeyKey, workflowId: delivery.workflowId, variant: delivery.variant }
        : undefined,
    fallback: {
      reason: input.failedChannel === 'email' ? 'email-bounced' : `${input.failedChannel}-undelivered`,
    },
  });

  return {
    async fallBackBouncedDelivery(input) {
      const reopened = await sendPath.inClinic(input.clinicId, (tx) =>
        reopenForFallback(tx, input.clinicId, input.deliveryId, input.failedChannel),
      );
      if (!reopened) {
        const current = await sendPath.inClinic(input.clinicId, (tx) =>
          getDelivery(tx, input.clinicId, input.deliveryId),
        );
        if (!current) throw new CarebellError('PatientNotFound', 'no such delivery in this clinic');
        deps.log.info({ deliveryId: input.deliveryId }, 'nothing to fall back from');
        return { kind: 'done' };
      }
      const outcome = await sendPath.send(requestFor(reopened, input, input.dueAt));
      if (outcome.kind === 'defer') return outcome;
      deps.log.info(
        { deliveryId: input.deliveryId, status: outcome.delivery.status, channel: outcome.delivery.channel },
        'fallback done',
      );
      return { kind: 'done', ...resultOf(outcome.delivery) };
    },

    async closeBouncedFallback(input) {
      const delivery = await sendPath.inClinic(input.clinicId, (tx) =>
        getDelivery(tx, input.clinicId, input.deliveryId),
      );
      if (!delivery) throw new CarebellError('PatientNotFound', 'no such delivery in this clinic');
      const request = requestFor(delivery, input, input.dueAt);
      return resultOf(await sendPath.close(request, { status: 'failed', reason: input.reason }));
    },
  };
}
