// Unsubscribe links (message_links with purpose 'unsubscribe'): written before the marketing email that
// carries one leaves, found by the hash of the token a patient's mail client posts back.
import { and, eq, isNull, sql } from 'drizzle-orm';
import { deliveries, messageLinks } from '../schema';
import type { Queryable } from '../tenant';

/** The link of this delivery; the same token on every retry, so a second insert changes nothing. */
export async function ensureUnsubscribeLink(
  db: Queryable,
  link: { clinicId: string; deliveryId: string; tokenHash: string; expiresAt: Date },
): Promise<void> {
  await db
    .insert(messageLinks)
    .values({ ...link, purpose: 'unsubscribe' })
    .onConflictDoNothing();
}

/**
 * A link by its token's hash, from a request that names no clinic: through the SECURITY DEFINER look-up,
 * which reveals only ids. Any purpose is returned; callers check theirs.
 */
export async function messageLinkByTokenHash(
  db: Queryable,
  tokenHash: string,
): Promise<{ id: string; clinicId: string; deliveryId: string; purpose: string } | undefined> {
  const [row] = await db.execute<{ id: string; clinic_id: string; delivery_id: string; purpose: string }>(
    sql`select id, clinic_id, delivery_id, purpose from message_link_by_token(${tokenHash})`,
  );
  return row && { id: row.id, clinicId: row.clinic_id, deliveryId: row.delivery_id, purpose: row.purpose };
}

/** The link with what its page shows: the delivery's patient and the language the email was written in. */
export async function unsubscribeLinkDetails(db: Queryable, clinicId: string, linkId: string) {
  const [row] = await db
    .select({
      id: messageLinks.id,
      deliveryId: messageLinks.deliveryId,
      expiresAt: messageLinks.expiresAt,
      usedAt: messageLinks.usedAt,
      patientId: deliveries.patientId,
      language: deliveries.language,
    })
    .from(messageLinks)
    .innerJoin(deliveries, eq(deliveries.id, messageLinks.deliveryId))
    .where(
      and(
        eq(messageLinks.clinicId, clinicId),
        eq(messageLinks.id, linkId),
        eq(messageLinks.purpose, 'unsubscribe'),
      ),
    );
  return row;
}

/** Marks the link used; true only for the request that did (two clicks at once record one revocation). */
export async function markUnsubscribeLinkUsed(db: Queryable, clinicId: string, linkId: string) {
  const updated = await db
    .update(messageLinks)
    .set({ usedAt: new Date() })
    .where(and(eq(messageLinks.clinicId, clinicId), eq(messageLinks.id, linkId), isNull(messageLinks.usedAt)))
    .returning({ id: messageLinks.id });
  return updated.length > 0;
}
