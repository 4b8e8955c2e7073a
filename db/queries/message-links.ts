// Single-purpose links in messages (security/message-link.ts): stored by token hash only, with an
// expiry, a count of wrong answers and a lock.
import { and, eq, sql } from 'drizzle-orm';
import type { LinkPurpose } from '../../security/message-link';
import { messageLinks } from '../schema';
import type { Queryable } from '../tenant';

export type MessageLink = typeof messageLinks.$inferSelect;

/** Records the link a delivery's message carries; a retry finds the one recorded first. */
export async function ensureMessageLink(
  db: Queryable,
  link: { clinicId: string; deliveryId: string; purpose: LinkPurpose; tokenHash: string; expiresAt: Date },
): Promise<void> {
  await db.insert(messageLinks).values(link).onConflictDoNothing();
}

/**
 * The clinic and delivery a token's hash belongs to, across clinics: the page a patient opens names no
 * clinic. message_link_by_token() is SECURITY DEFINER and returns only these ids.
 */
export async function findLinkByTokenHash(
  db: Queryable,
  tokenHash: string,
): Promise<{ id: string; clinicId: string; deliveryId: string; purpose: string } | undefined> {
  const rows = await db.execute<{ id: string; clinic_id: string; delivery_id: string; purpose: string }>(
    sql`select id, clinic_id, delivery_id, purpose from message_link_by_token(${tokenHash})`,
  );
  const row = rows[0];
  return row && { id: row.id, clinicId: row.clinic_id, deliveryId: row.delivery_id, purpose: row.purpose };
}

/** The link row, locked until the transaction ends, so two answers at once count as two. */
export async function lockMessageLink(
  db: Queryable,
  clinicId: string,
  id: string,
): Promise<MessageLink | undefined> {
  const [row] = await db
    .select()
    .from(messageLinks)
    .where(and(eq(messageLinks.clinicId, clinicId), eq(messageLinks.id, id)))
    .for('update');
  return row;
}

/** Counts a wrong answer; the link locks when the count reaches `maxAttempts`. */
export async function recordWrongAnswer(
  db: Queryable,
  clinicId: string,
  id: string,
  maxAttempts: number,
): Promise<MessageLink> {
  const [row] = await db
    .update(messageLinks)
    .set({
      failedAttempts: sql`${messageLinks.failedAttempts} + 1`,
      lockedAt: sql`case when ${messageLinks.failedAttempts} + 1 >= ${maxAttempts} then now() else ${messageLinks.lockedAt} end`,
    })
    .where(and(eq(messageLinks.clinicId, clinicId), eq(messageLinks.id, id)))
    .returning();
  return row!;
}

/** The first time the right answer opened the message. */
export async function recordLinkUsed(db: Queryable, clinicId: string, id: string): Promise<void> {
  await db
    .update(messageLinks)
    .set({ usedAt: sql`coalesce(${messageLinks.usedAt}, now())` })
    .where(and(eq(messageLinks.clinicId, clinicId), eq(messageLinks.id, id)));
}

/** Deletes up to `limit` of a clinic's links that expired before `before`; returns how many. */
export async function deleteExpiredLinks(
  db: Queryable,
  clinicId: string,
  before: Date,
  limit: number,
): Promise<number> {
  const rows = await db.execute<{ id: string }>(sql`
    delete from ${messageLinks} where id in (
      select id from ${messageLinks}
      where clinic_id = ${clinicId} and expires_at < ${before.toISOString()}
      limit ${limit}
    ) returning id`);
  return rows.length;
}
