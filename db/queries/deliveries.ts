import { and, eq, gte, inArray, sql } from 'drizzle-orm';
import type { Queryable } from '../tenant';
import type { Category, Channel, DeliveryOutcome } from '../../domain/messaging';
import { deliveries, type Delivery } from '../schema';

export interface DeliveryClaim {
  clinicId: string;
  patientId: string;
  idempotencyKey: string;
  template: string;
  /** Reminders are transactional. */
  category?: Category;
  dueAt: Date;
}

/** Returns the delivery for this key, creating it (pending) if this is the first attempt. */
export async function claimDelivery(db: Queryable, claim: DeliveryClaim): Promise<Delivery> {
  const [created] = await db.insert(deliveries).values(claim).onConflictDoNothing().returning();
  if (created) return created;
  const [existing] = await db
    .select()
    .from(deliveries)
    .where(and(eq(deliveries.clinicId, claim.clinicId), eq(deliveries.idempotencyKey, claim.idempotencyKey)));
  if (!existing) throw new Error(`delivery ${claim.idempotencyKey} exists under another clinic`);
  return existing;
}

/** Records that a provider call is about to happen, so a retry knows the outcome may be ambiguous. */
export async function recordAttempt(
  db: Queryable,
  deliveryId: string,
  values: { channel: Channel; language: string },
): Promise<void> {
  await db
    .update(deliveries)
    .set({ ...values, attempts: sql`${deliveries.attempts} + 1`, lastAttemptAt: new Date() })
    .where(and(eq(deliveries.id, deliveryId), eq(deliveries.status, 'pending')));
}

export interface DeliveryCompletion {
  status: DeliveryOutcome;
  /** When it went out, if later than first due (deferred by quiet hours or caps); frequency caps count it. */
  dueAt?: Date;
  channel?: Channel;
  providerMessageId?: string;
  reason?: string;
}

export async function completeDelivery(
  db: Queryable,
  deliveryId: string,
  outcome: DeliveryCompletion,
): Promise<Delivery> {
  const [row] = await db
    .update(deliveries)
    .set({ ...outcome, completedAt: new Date() })
    .where(and(eq(deliveries.id, deliveryId), eq(deliveries.status, 'pending')))
    .returning();
  if (row) return row;
  // Already completed by an earlier attempt: that outcome stands.
  const [existing] = await db.select().from(deliveries).where(eq(deliveries.id, deliveryId));
  return existing!;
}

export async function getDeliveryByKey(
  db: Queryable,
  clinicId: string,
  idempotencyKey: string,
): Promise<Delivery | undefined> {
  const [row] = await db
    .select()
    .from(deliveries)
    .where(and(eq(deliveries.clinicId, clinicId), eq(deliveries.idempotencyKey, idempotencyKey)));
  return row;
}

/** When the patient's messages went out (any journey), for frequency caps. */
export async function recentSends(
  db: Queryable,
  clinicId: string,
  patientId: string,
  since: Date,
): Promise<{ at: number; category: Category }[]> {
  const rows = await db
    .select({ dueAt: deliveries.dueAt, category: deliveries.category })
    .from(deliveries)
    .where(
      and(
        eq(deliveries.clinicId, clinicId),
        eq(deliveries.patientId, patientId),
        inArray(deliveries.status, ['sent', 'delivered']),
        gte(deliveries.dueAt, since),
      ),
    );
  return rows.map((row) => ({ at: row.dueAt.getTime(), category: row.category }));
}
