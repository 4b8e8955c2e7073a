// What a relay tells carebell after the hand-off (a bounce report): the delivery it is about, found by
// the Message-ID carebell gave the email, and the event recorded in the delivery's history.
import { and, eq, sql } from 'drizzle-orm';
import type { DeliveryStatus } from '../../domain/messaging';
import { deliveries, deliveryEvents, type Delivery } from '../schema';
import type { Queryable } from '../tenant';

/** From a request that names no clinic: the delivery (and its clinic) a provider message id belongs to. */
export async function deliveryByProviderId(
  db: Queryable,
  providerMessageId: string,
): Promise<{ id: string; clinicId: string } | undefined> {
  const [row] = await db.execute<{ id: string; clinic_id: string }>(
    sql`select id, clinic_id from delivery_by_provider_id(${providerMessageId})`,
  );
  return row && { id: row.id, clinicId: row.clinic_id };
}

export async function getDelivery(
  db: Queryable,
  clinicId: string,
  deliveryId: string,
): Promise<Delivery | undefined> {
  const [row] = await db
    .select()
    .from(deliveries)
    .where(and(eq(deliveries.clinicId, clinicId), eq(deliveries.id, deliveryId)));
  return row;
}

/** One row per provider status: a report delivered twice is recorded once (false the second time). */
export async function recordDeliveryEvent(
  db: Queryable,
  event: {
    clinicId: string;
    deliveryId: string;
    status: DeliveryStatus;
    providerStatus: string;
    providerError?: string;
  },
): Promise<boolean> {
  const inserted = await db
    .insert(deliveryEvents)
    .values(event)
    .onConflictDoNothing()
    .returning({ id: deliveryEvents.id });
  return inserted.length > 0;
}
