// The fallback after a delivery failed on its channel after hand-off (domain/fallback.ts). The row was
// completed when the provider took the message; here it is reopened once (a marker event records that) and
// sent again through the one send path, restricted to the channels not yet tried, so every rule (consent,
// suppressions, the window, the caps) is checked again at this moment.
import { and, eq } from 'drizzle-orm';
import { twilioUndelivered } from '../channels/provider-status';
import { recordConsent } from '../db/queries/consents';
import { getDelivery } from '../db/queries/deliveries';
import { lockKey, recordDeliveryEvent, recordedProviderStatuses } from '../db/queries/replies';
import { suppressAddress } from '../db/queries/suppressions';
import { deliveries, type Delivery } from '../db/schema';
import type { Transaction } from '../db/tenant';
import { CarebellError } from '../domain/errors';
import type { FallbackActivities, FallbackInput, FallbackStep } from '../domain/fallback';
import { CHANNELS, type Channel } from '../domain/messaging';
import type { ActivityDeps } from './deps';
import { createSendPath, type SendRequest, type StoredRequest } from './dispatch';
import { applyProviderStatus } from './provider-status';

const MARKER = 'carebell:fallback';
const CARRIER_OPT_OUT = '21610';

/** The provider's word that the message did not arrive: a text undelivered, an email bounced for good. */
const reportsFailure = (providerStatus: string) =>
  twilioUndelivered(providerStatus) || providerStatus === 'bounce-hard';

const failureReason = (input: FallbackInput) =>
  input.failedChannel === 'email' ? 'email-bounced' : `twilio-${input.errorCode ?? input.providerStatus}`;

export function createFallbackActivities(deps: ActivityDeps): FallbackActivities {
  const sendPath = createSendPath(deps);
  const { inClinic } = sendPath;

  const done = (delivery: Delivery | undefined): FallbackStep => ({
    kind: 'done',
    receipt: delivery ? receiptOf(delivery) : 'failed',
    workflowId: delivery?.workflowId ?? null,
  });

  async function failWith(tx: Transaction, delivery: Delivery, reason: string) {
    const [row] = await tx
      .update(deliveries)
      .set({ status: 'failed', reason, completedAt: new Date() })
      .where(and(eq(deliveries.id, delivery.id), eq(deliveries.status, 'sent')))
      .returning();
    return row ?? delivery;
  }

  /** Reopens the row for the fallback (once): the send to make again, or the step that ends the fallback. */
  function reopen(input: FallbackInput & { dueAt: number }) {
    return inClinic(input.clinicId, async (tx): Promise<SendRequest | FallbackStep> => {
      await lockKey(tx, `delivery:${input.deliveryId}`);
      const delivery = await getDelivery(tx, input.clinicId, input.deliveryId);
      if (!delivery) return done(undefined);
      if (input.providerStatus)
        await applyProviderStatus(tx, delivery, input.providerStatus, input.errorCode);
      const seen = await recordedProviderStatuses(tx, delivery.id);
      if (seen.includes(MARKER))
        return delivery.status === 'pending' ? requestFor(delivery, input) : done(delivery);
      // The send activity has not recorded the hand-off yet: a moment later it will have.
      if (delivery.status === 'pending')
        throw new CarebellError('ChannelUnavailable', 'the hand-off is not recorded yet');
      // Delivered after all (callbacks out of order), or moved on to another channel already.
      if (
        delivery.status !== 'sent' ||
        delivery.channel !== input.failedChannel ||
        !seen.some(reportsFailure)
      )
        return done(delivery);
      await recordDeliveryEvent(tx, {
        clinicId: input.clinicId,
        deliveryId: delivery.id,
        status: 'pending',
        providerStatus: MARKER,
        providerError: input.errorCode ?? null,
      });
      if (input.errorCode === CARRIER_OPT_OUT) {
        // The number replied STOP at the carrier: honour it as an SMS opt-out at once.
        await suppressAddress(tx, {
          clinicId: input.clinicId,
          channel: 'sms',
          addressIndex: delivery.addressIndex!,
          reason: 'carrier-opt-out',
        });
        for (const category of ['transactional', 'marketing'] as const)
          await recordConsent(tx, deps.cipher, {
            clinicId: input.clinicId,
            patientId: delivery.patientId,
            channel: 'sms',
            category,
            granted: false,
            source: 'carrier:twilio-21610',
            actor: 'worker',
          });
        // An opt-out is the patient's word about messages: marketing stops rather than fall back.
        if (delivery.category === 'marketing')
          return done(await failWith(tx, delivery, failureReason(input)));
      }
      const request = requestFor(delivery, input);
      if (request.channels.length === 0) return done(await failWith(tx, delivery, failureReason(input)));
      await tx
        .update(deliveries)
        .set({ status: 'pending', completedAt: null, reason: failureReason(input), lastAttemptAt: null })
        .where(eq(deliveries.id, delivery.id));
      return request;
    });
  }

  function storedRequest(delivery: Delivery): StoredRequest | undefined {
    if (!delivery.requestEnc) return undefined;
    return JSON.parse(
      deps.cipher.decrypt(delivery.requestEnc, {
        clinicId: delivery.clinicId,
        table: 'deliveries',
        column: 'request_enc',
        rowId: delivery.id,
      }),
    ) as StoredRequest;
  }

  /** The send again, as the delivery was first asked for, on the channels it has not failed on. */
  const requestFor = (delivery: Delivery, input: FallbackInput & { dueAt: number }): SendRequest => {
    const stored = storedRequest(delivery);
    return {
      clinicId: delivery.clinicId,
      patientId: delivery.patientId,
      template: delivery.template,
      category: delivery.category,
      channels: remainingChannels(stored, input.failedChannel),
      facts: stored?.facts ?? {},
      dueAt: input.dueAt,
      idempotencyKey: delivery.idempotencyKey,
      journey:
        delivery.journeyKey && delivery.workflowId
          ? { key: delivery.journeyKey, workflowId: delivery.workflowId, variant: delivery.variant }
          : undefined,
      // No other channel may take it (no consent, no address): the delivery failed on its first one.
      fallback: { reason: failureReason(input) },
    };
  };

  return {
    async fallBackDelivery(input) {
      const request = await reopen(input);
      if ('kind' in request) return request;
      const result = await sendPath.send(request);
      if (result.kind === 'defer') return { kind: 'defer', until: result.until };
      deps.log.info(
        { deliveryId: result.delivery.id, status: result.delivery.status, channel: result.delivery.channel },
        'delivery fell back',
      );
      return done(result.delivery);
    },

    async closeFallback(input) {
      const delivery = await inClinic(input.clinicId, (tx) =>
        getDelivery(tx, input.clinicId, input.deliveryId),
      );
      if (!delivery) return done(undefined);
      return done(
        await sendPath.close(requestFor(delivery, input), { status: 'failed', reason: input.reason }),
      );
    },
  };
}

/** Email taken by the relay counts as delivered: SMTP gives no receipt (a bounce comes later, if at all). */
function receiptOf(delivery: Delivery): 'delivered' | 'failed' {
  return delivery.status === 'delivered' || (delivery.status === 'sent' && delivery.channel === 'email')
    ? 'delivered'
    : 'failed';
}

function remainingChannels(stored: StoredRequest | undefined, failed: Channel): Channel[] {
  if (!stored) return [];
  return (stored.channels === 'preferred' ? [...CHANNELS] : stored.channels).filter(
    (channel) => channel !== failed,
  );
}
