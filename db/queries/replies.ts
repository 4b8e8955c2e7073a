// SMS replies and provider status callbacks: neither names a clinic, so the look-ups that find one run
// through SECURITY DEFINER functions (migration 0009); everything after them runs inside withClinic().
import { randomUUID } from 'node:crypto';
import { and, desc, eq, inArray, isNotNull, max, sql } from 'drizzle-orm';
import type { FieldCipher } from '../../security/field-cipher';
import type { Database } from '../client';
import { contactPoints, deliveries, deliveryEvents, inboundMessages } from '../schema';
import type { DeliveryStatus } from '../../domain/messaging';
import type { Queryable, Transaction } from '../tenant';

/** Clinics that text from `number` as their own sender. */
export async function clinicsBySmsNumber(db: Database, number: string): Promise<string[]> {
  const rows = await db.execute<{ id: string }>(sql`select id from clinic_by_sms_number(${number})`);
  return rows.map((row) => row.id);
}

export async function allClinicIds(db: Database): Promise<string[]> {
  const rows = await db.execute<{ id: string }>(sql`select clinic_ids() as id`);
  return rows.map((row) => row.id);
}

/** The delivery a provider message id belongs to, and its clinic. */
export async function deliveryByProviderId(
  db: Queryable,
  providerMessageId: string,
): Promise<{ id: string; clinicId: string } | undefined> {
  const [row] = await db.execute<{ id: string; clinic_id: string }>(
    sql`select id, clinic_id from delivery_by_provider_id(${providerMessageId})`,
  );
  return row && { id: row.id, clinicId: row.clinic_id };
}

/** Patients of the clinic with this SMS address (family members may share a phone). */
export async function patientsWithSmsAddress(
  db: Queryable,
  clinicId: string,
  addressIndex: string,
): Promise<string[]> {
  const rows = await db
    .selectDistinct({ patientId: contactPoints.patientId })
    .from(contactPoints)
    .where(
      and(
        eq(contactPoints.clinicId, clinicId),
        eq(contactPoints.channel, 'sms'),
        eq(contactPoints.addressIndex, addressIndex),
      ),
    );
  return rows.map((row) => row.patientId).sort();
}

/** When the clinic last texted this address (an attempt or a completion), if ever. */
export async function lastSmsTo(db: Queryable, clinicId: string, addressIndex: string): Promise<Date | null> {
  const [row] = await db
    .select({ at: max(sql<Date>`coalesce(${deliveries.lastAttemptAt}, ${deliveries.completedAt})`) })
    .from(deliveries)
    .where(
      and(
        eq(deliveries.clinicId, clinicId),
        eq(deliveries.channel, 'sms'),
        eq(deliveries.addressIndex, addressIndex),
      ),
    );
  return row?.at ? new Date(row.at) : null;
}

/** Records a reply once per provider message id; undefined when it was recorded before (a retried webhook). */
export async function recordInbound(
  db: Queryable,
  cipher: FieldCipher,
  entry: {
    clinicId: string;
    patientId: string | null;
    providerMessageId: string;
    fromIndex: string;
    body: string;
    intent: string;
    flagged: boolean;
  },
): Promise<string | undefined> {
  const id = randomUUID();
  const [row] = await db
    .insert(inboundMessages)
    .values({
      id,
      clinicId: entry.clinicId,
      patientId: entry.patientId,
      providerMessageId: entry.providerMessageId,
      fromIndex: entry.fromIndex,
      bodyEnc: cipher.encrypt(entry.body, {
        clinicId: entry.clinicId,
        table: 'inbound_messages',
        column: 'body_enc',
        rowId: id,
      }),
      intent: entry.intent,
      flagged: entry.flagged,
    })
    .onConflictDoNothing()
    .returning({ id: inboundMessages.id });
  return row?.id;
}

/** Records the journey a reply was passed to (a CONFIRM or CANCEL APPT answering its message). */
export async function linkReply(
  db: Queryable,
  clinicId: string,
  providerMessageId: string,
  enrollmentId: string,
) {
  await db
    .update(inboundMessages)
    .set({ enrollmentId })
    .where(
      and(eq(inboundMessages.clinicId, clinicId), eq(inboundMessages.providerMessageId, providerMessageId)),
    );
}

const replyView = {
  id: inboundMessages.id,
  intent: inboundMessages.intent,
  flagged: inboundMessages.flagged,
  enrollmentId: inboundMessages.enrollmentId,
  receivedAt: inboundMessages.receivedAt,
};

/** The replies passed to one journey, oldest first: how the EHR reads an appointment's answer back. */
export function enrollmentReplies(db: Queryable, clinicId: string, enrollmentId: string) {
  return db
    .select(replyView)
    .from(inboundMessages)
    .where(and(eq(inboundMessages.clinicId, clinicId), eq(inboundMessages.enrollmentId, enrollmentId)))
    .orderBy(inboundMessages.receivedAt);
}

/** A patient's replies for the timeline: what was understood and whether staff must look, never the text. */
export function patientReplies(db: Queryable, clinicId: string, patientId: string, limit = 200) {
  return db
    .select(replyView)
    .from(inboundMessages)
    .where(and(eq(inboundMessages.clinicId, clinicId), eq(inboundMessages.patientId, patientId)))
    .orderBy(desc(inboundMessages.receivedAt))
    .limit(limit);
}

/** A transaction-scoped advisory lock: released at commit, so a crashed process never holds it. */
export async function lockKey(tx: Transaction, key: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`);
}

/** The provider statuses recorded for a delivery so far. */
export async function recordedProviderStatuses(db: Queryable, deliveryId: string): Promise<string[]> {
  const rows = await db
    .select({ providerStatus: deliveryEvents.providerStatus })
    .from(deliveryEvents)
    .where(and(eq(deliveryEvents.deliveryId, deliveryId), isNotNull(deliveryEvents.providerStatus)));
  return rows.map((row) => row.providerStatus!);
}

/** One row per (delivery, provider status): false when that status was recorded before. */
export async function recordDeliveryEvent(
  db: Queryable,
  entry: {
    clinicId: string;
    deliveryId: string;
    status: DeliveryStatus;
    providerStatus: string;
    providerError?: string | null;
  },
): Promise<boolean> {
  const rows = await db
    .insert(deliveryEvents)
    .values({ ...entry, providerError: entry.providerError ?? null })
    .onConflictDoNothing()
    .returning({ id: deliveryEvents.id });
  return rows.length > 0;
}

export function deliveryEventsOf(db: Queryable, clinicId: string, deliveryIds: string[]) {
  if (deliveryIds.length === 0) return Promise.resolve([]);
  return db
    .select()
    .from(deliveryEvents)
    .where(and(eq(deliveryEvents.clinicId, clinicId), inArray(deliveryEvents.deliveryId, deliveryIds)))
    .orderBy(deliveryEvents.occurredAt);
}
