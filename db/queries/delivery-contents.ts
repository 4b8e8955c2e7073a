// The message archive: what exactly each delivery said, and the details only the pickup page shows,
// encrypted and bound to the delivery's row, kept until the clinic's retention period ends.
import { and, eq, sql } from 'drizzle-orm';
import type { FieldCipher } from '../../security/field-cipher';
import { deliveryContents } from '../schema';
import type { Queryable } from '../tenant';

/** Every form the message was rendered in; the delivery's channel says which one left. */
export interface RenderedMessage {
  sms?: string;
  subject?: string;
  text?: string;
  /** HTML email, when the email channel renders one. */
  html?: string;
}

export interface DeliveryContent {
  deliveryId: string;
  clinicId: string;
  template: string;
  templateVersion: string;
  language: string;
  rendered: RenderedMessage;
  /** What the EHR event said that travels by no SMS or plain email (the medication, the place). */
  details: Record<string, string> | null;
  retainUntil: Date;
  createdAt: Date;
}

const field = (clinicId: string, deliveryId: string, column: string) => ({
  clinicId,
  table: 'delivery_contents',
  column,
  rowId: deliveryId,
});

/** Archives a delivery's message; a retry re-renders the same text and keeps the first row. */
export async function archiveDeliveryContent(
  db: Queryable,
  cipher: FieldCipher,
  content: Omit<DeliveryContent, 'createdAt'>,
): Promise<void> {
  const { clinicId, deliveryId } = content;
  await db
    .insert(deliveryContents)
    .values({
      id: deliveryId,
      clinicId,
      template: content.template,
      templateVersion: content.templateVersion,
      language: content.language,
      renderedEnc: cipher.encrypt(
        JSON.stringify(content.rendered),
        field(clinicId, deliveryId, 'rendered_enc'),
      ),
      detailsEnc:
        content.details === null
          ? null
          : cipher.encrypt(JSON.stringify(content.details), field(clinicId, deliveryId, 'details_enc')),
      retainUntil: content.retainUntil,
    })
    .onConflictDoNothing();
}

/** A delivery's archived message, decrypted; the caller audits the read. */
export async function readDeliveryContent(
  db: Queryable,
  cipher: FieldCipher,
  clinicId: string,
  deliveryId: string,
): Promise<DeliveryContent | undefined> {
  const [row] = await db
    .select()
    .from(deliveryContents)
    .where(and(eq(deliveryContents.clinicId, clinicId), eq(deliveryContents.id, deliveryId)));
  if (!row) return undefined;
  return {
    deliveryId,
    clinicId,
    template: row.template,
    templateVersion: row.templateVersion,
    language: row.language,
    rendered: JSON.parse(
      cipher.decrypt(row.renderedEnc, field(clinicId, deliveryId, 'rendered_enc')),
    ) as RenderedMessage,
    details:
      row.detailsEnc === null
        ? null
        : (JSON.parse(cipher.decrypt(row.detailsEnc, field(clinicId, deliveryId, 'details_enc'))) as Record<
            string,
            string
          >),
    retainUntil: row.retainUntil,
    createdAt: row.createdAt,
  };
}

/**
 * Deletes up to `limit` of a clinic's archived messages whose retention ended by `asOf`: how many, and the
 * range of `retain_until` they had (for the audit log, which never holds content).
 */
export async function purgeDeliveryContents(
  db: Queryable,
  clinicId: string,
  asOf: Date,
  limit: number,
): Promise<{ count: number; oldest?: Date; newest?: Date }> {
  const rows = await db.execute<{ retain_until: string | Date }>(sql`
    delete from ${deliveryContents} where id in (
      select id from ${deliveryContents}
      where clinic_id = ${clinicId} and retain_until <= ${asOf.toISOString()}
      order by retain_until
      limit ${limit}
    ) returning retain_until`);
  if (rows.length === 0) return { count: 0 };
  const times = rows.map((row) => new Date(row.retain_until).getTime());
  return {
    count: rows.length,
    oldest: new Date(Math.min(...times)),
    newest: new Date(Math.max(...times)),
  };
}
