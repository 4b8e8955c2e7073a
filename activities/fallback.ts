// The fallback after a text was reported undelivered (see domain/delivery-fallback.ts). The row was
// completed as `sent` when Twilio took the message; here it is reopened once (a marker event records that)
// and sent again through the one send path, restricted to the channels not yet tried, so every rule
// (consent, suppressions, the window, the caps) is checked again at this moment.
import { and, eq } from 'drizzle-orm';
import { twilioUndelivered } from '../channels/provider-status';
import { recordConsent } from '../db/queries/consents';
import { getDelivery } from '../db/queries/deliveries';
import { lockKey, recordDeliveryEvent, recordedProviderStatuses } from '../db/queries/replies';
import { suppressAddress } from '../db/queries/suppressions';
import { deliveries, type Delivery } from '../db/schema';
import type { Transaction } from '../db/tenant';
import { CarebellError } from '../domain/errors';
import type { FallbackInput, FallbackStep } from '../domain/delivery-fallback';
import { CHANNELS, type Channel } from '../domain/messaging';
import type { ActivityDeps } from './deps';
import { createSendPath, type SendRequest, type StoredRequest } from './dispatch';
import { applyProviderStatus } from './provider-status';

const MARKER = 'carebell:fallback';
const CARRIER_OPT_OUT = '21610';

export function createFallbackActivities(deps: ActivityDeps) {
  const sendPath = createSendPath(deps);
  const { inClinic } = sendPath;

  async function failWith(tx: Transaction, delivery: Delivery, reason: string) {
    await tx
      .update(deliveries)
      .set({ status: 'failed', reason, completedAt: new Date() })
      .where(and(eq(deliveries.id, delivery.id), eq(deliveries.status, 'sent')));
  }

  /** Reopens the row for the fallback (once), or says what became of it. */
  async function prepare(input: FallbackInput) {
    return inClinic(input.clinicId, async (tx) => {
      await lockKey(tx, `delivery:${input.deliveryId}`);
      const delivery = await getDelivery(tx, input.clinicId, input.deliveryId);
      if (!delivery) return { settled: 'failed' as const, delivery: undefined };
      await applyProviderStatus(tx, delivery, input.providerStatus, input.errorCode);
      const seen = await recordedProviderStatuses(tx, delivery.id);
      if (seen.includes(MARKER)) {
        return delivery.status === 'pending'
          ? { settled: false as const, delivery }
          : { settled: receiptOf(delivery), delivery };
      }
      // The send activity has not recorded the hand-off yet: a moment later it will have.
      if (delivery.status === 'pending')
        throw new CarebellError('ChannelUnavailable', 'the hand-off is not recorded yet');
      // Delivered after all (callbacks out of order), or not a text that was handed off.
      if (delivery.status !== 'sent' || delivery.channel !== 'sms' || !seen.some(twilioUndelivered))
        return { settled: receiptOf(delivery), delivery };
      await recordDeliveryEvent(tx, {
        clinicId: input.clinicId,
        deliveryId: delivery.id,
        status: 'pending',
        providerStatus: MARKER,
        providerError: input.errorCode ?? null,
      });
      const reason = `twilio-${input.errorCode ?? input.providerStatus}`;
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
        if (delivery.category === 'marketing') {
          await failWith(tx, delivery, reason);
          return { settled: 'failed' as const, delivery };
        }
      }
      const stored = storedRequest(delivery);
      const remaining = stored && remainingChannels(stored.channels, 'sms');
      if (!stored || remaining!.length === 0) {
        await failWith(tx, delivery, reason);
        return { settled: 'failed' as const, delivery };
      }
      await tx
        .update(deliveries)
        .set({ status: 'pending', completedAt: null, reason, lastAttemptAt: null })
        .where(eq(deliveries.id, delivery.id));
      return { settled: false as const, delivery };
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

  return {
    /** One step of the fallback: reopen (once) and send on the remaining channels, or say it is done. */
    async fallBackDelivery(input: FallbackInput): Promise<FallbackStep> {
      const prepared = await prepare(input);
      if (prepared.settled !== false)
        return { kind: 'done', receipt: prepared.settled, workflowId: prepared.delivery?.workflowId ?? null };
      const { delivery } = prepared;
      const stored = storedRequest(delivery)!;
      const request: SendRequest = {
        clinicId: delivery.clinicId,
        patientId: delivery.patientId,
        template: delivery.template,
        category: delivery.category,
        channels: remainingChannels(stored.channels, 'sms'),
        facts: stored.facts,
        dueAt: deps.clock(),
        idempotencyKey: delivery.idempotencyKey,
        journey: delivery.journeyKey
          ? { key: delivery.journeyKey, workflowId: delivery.workflowId!, variant: delivery.variant }
          : undefined,
      };
      const result = await sendPath.send(request);
      if (result.kind === 'defer') return { kind: 'defer', until: result.until };
      let final = result.delivery;
      if (final.status === 'suppressed') {
        // No other channel may take it (no consent, no address): the delivery failed on its text.
        final = await inClinic(input.clinicId, async (tx) => {
          const [row] = await tx
            .update(deliveries)
            .set({ status: 'failed', reason: `twilio-${input.errorCode ?? input.providerStatus}` })
            .where(and(eq(deliveries.id, final.id), eq(deliveries.status, 'suppressed')))
            .returning();
          return row ?? final;
        });
      }
      deps.log.info(
        { deliveryId: final.id, status: final.status, channel: final.channel },
        'undelivered text fell back',
      );
      return { kind: 'done', receipt: receiptOf(final), workflowId: final.workflowId };
    },
  };
}

/** Email taken by the relay counts as delivered: SMTP gives no receipt (a bounce comes later, if at all). */
function receiptOf(delivery: Delivery): 'delivered' | 'failed' {
  return delivery.status === 'delivered' || (delivery.status === 'sent' && delivery.channel === 'email')
    ? 'delivered'
    : 'failed';
}

function remainingChannels(order: StoredRequest['channels'], tried: Channel): Channel[] {
  return (order === 'preferred' ? [...CHANNELS] : order).filter((channel) => channel !== tried);
}
