import { and, asc, desc, eq, gte, inArray, ne, or, sql } from 'drizzle-orm';
import type { EarlierSend } from '../../rules/sending';
import type { Queryable } from '../tenant';
import type { Category, Channel, DeliveryOutcome } from '../../domain/messaging';
import { deliveries, type Delivery } from '../schema';

export interface DeliveryClaim {
  /** The new row's id (else one is made); ignored when the key was claimed before. */
  id?: string;
  clinicId: string;
  patientId: string;
  idempotencyKey: string;
  template: string;
  /** Reminders are transactional. */
  category?: Category;
  dueAt: Date;
  /** A journey's send: which journey and enrollment, and the A/B variant chosen. */
  journeyKey?: string;
  workflowId?: string;
  variant?: string | null;
  /** Encrypted under the row's id: what a fallback needs (activities/dispatch.ts StoredRequest). */
  requestEnc?: string;
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
  values: { channel: Channel; addressIndex: string; language: string; languageFallback: boolean },
): Promise<void> {
  await db
    .update(deliveries)
    .set({ ...values, attempts: sql`${deliveries.attempts} + 1`, lastAttemptAt: new Date() })
    .where(and(eq(deliveries.id, deliveryId), eq(deliveries.status, 'pending')));
}

/** The last attempt ended without the provider taking the message (a definite refusal, not a crash). */
export async function recordAttemptEnded(db: Queryable, deliveryId: string): Promise<void> {
  await db
    .update(deliveries)
    .set({ lastAttemptAt: null })
    .where(and(eq(deliveries.id, deliveryId), eq(deliveries.status, 'pending')));
}

export interface DeliveryCompletion {
  status: DeliveryOutcome;
  /** When it went out, if later than first due (deferred by quiet hours or caps); frequency caps count it. */
  dueAt?: Date;
  channel?: Channel;
  addressIndex?: string;
  providerMessageId?: string;
  reason?: string;
  /** The send's template values, encrypted (db/queries/fallback.ts). */
  factsEnc?: string | null;
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

// An attempt this recent may still be talking to the provider: it counts against the caps until it ends.
const IN_FLIGHT_MS = 2 * 60_000;

/**
 * Sends that count against the caps since `since`: the patient's, and any to these addresses (family
 * members sharing a phone), sent or in flight, other than `excluding` (the delivery being decided).
 */
export async function sendsForCaps(
  db: Queryable,
  options: {
    clinicId: string;
    patientId: string;
    addressIndexes: string[];
    since: Date;
    now: Date;
    /** The send being decided, by its idempotency key (known before its row is claimed). */
    excludingKey: string;
  },
): Promise<EarlierSend[]> {
  const whose = options.addressIndexes.length
    ? or(
        eq(deliveries.patientId, options.patientId),
        inArray(deliveries.addressIndex, options.addressIndexes),
      )
    : eq(deliveries.patientId, options.patientId);
  const rows = await db
    .select({
      dueAt: deliveries.dueAt,
      lastAttemptAt: deliveries.lastAttemptAt,
      status: deliveries.status,
      category: deliveries.category,
      addressIndex: deliveries.addressIndex,
      patientId: deliveries.patientId,
    })
    .from(deliveries)
    .where(
      and(
        eq(deliveries.clinicId, options.clinicId),
        whose,
        ne(deliveries.idempotencyKey, options.excludingKey),
        or(
          and(inArray(deliveries.status, ['sent', 'delivered']), gte(deliveries.dueAt, options.since)),
          and(
            eq(deliveries.status, 'pending'),
            gte(deliveries.lastAttemptAt, new Date(options.now.getTime() - IN_FLIGHT_MS)),
          ),
        ),
      ),
    );
  return rows.map((row) => ({
    at: (row.status === 'pending' ? row.lastAttemptAt! : row.dueAt).getTime(),
    category: row.category,
    addressIndex: row.addressIndex,
    mine: row.patientId === options.patientId,
  }));
}

/** What a delivery's timeline shows: how it ended and why, never what it said. */
const summary = {
  id: deliveries.id,
  journeyKey: deliveries.journeyKey,
  workflowId: deliveries.workflowId,
  template: deliveries.template,
  variant: deliveries.variant,
  category: deliveries.category,
  channel: deliveries.channel,
  language: deliveries.language,
  languageFallback: deliveries.languageFallback,
  status: deliveries.status,
  reason: deliveries.reason,
  dueAt: deliveries.dueAt,
  completedAt: deliveries.completedAt,
};

/** A patient's deliveries, newest due first. */
export function patientDeliveries(db: Queryable, clinicId: string, patientId: string, limit = 200) {
  return db
    .select(summary)
    .from(deliveries)
    .where(and(eq(deliveries.clinicId, clinicId), eq(deliveries.patientId, patientId)))
    .orderBy(desc(deliveries.dueAt))
    .limit(limit);
}

/** An enrollment's deliveries, in the order they were due. */
export function enrollmentDeliveries(db: Queryable, clinicId: string, workflowId: string) {
  return db
    .select(summary)
    .from(deliveries)
    .where(and(eq(deliveries.clinicId, clinicId), eq(deliveries.workflowId, workflowId)))
    .orderBy(asc(deliveries.dueAt));
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
