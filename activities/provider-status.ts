// A provider's status callback applied to a delivery, shared by the webhook and the fallback: statuses
// only move forward, each new one is a row in delivery_events, and `delivered` completes the row.
import { and, eq } from 'drizzle-orm';
import { twilioStatusMovesOn } from '../channels/provider-status';
import { recordDeliveryEvent, recordedProviderStatuses } from '../db/queries/replies';
import { deliveries, type Delivery } from '../db/schema';
import type { Queryable } from '../db/tenant';
import type { DeliveryStatus } from '../domain/messaging';

const STATUS_OF: Record<string, DeliveryStatus> = {
  accepted: 'pending',
  scheduled: 'pending',
  queued: 'pending',
  sending: 'pending',
  sent: 'sent',
  delivered: 'delivered',
  read: 'delivered',
  undelivered: 'failed',
  failed: 'failed',
  canceled: 'failed',
};

/**
 * Records `providerStatus` if it moves the message on (a duplicate or a late, earlier status changes
 * nothing). Call under the delivery's lock. True when it was recorded.
 */
export async function applyProviderStatus(
  tx: Queryable,
  delivery: Pick<Delivery, 'id' | 'clinicId' | 'channel'>,
  providerStatus: string,
  errorCode: string | undefined,
): Promise<boolean> {
  const status = STATUS_OF[providerStatus];
  if (!status) return false;
  const seen = (await recordedProviderStatuses(tx, delivery.id)).filter((s) => !s.startsWith('carebell:'));
  if (!twilioStatusMovesOn(providerStatus, seen)) return false;
  const recorded = await recordDeliveryEvent(tx, {
    clinicId: delivery.clinicId,
    deliveryId: delivery.id,
    status,
    providerStatus,
    providerError: errorCode ?? null,
  });
  if (recorded && status === 'delivered' && delivery.channel === 'sms') {
    await tx
      .update(deliveries)
      .set({ status: 'delivered' })
      .where(
        and(eq(deliveries.id, delivery.id), eq(deliveries.status, 'sent'), eq(deliveries.channel, 'sms')),
      );
  }
  return recorded;
}
