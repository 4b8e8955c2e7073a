// A delivery that went out on one channel and then failed there (an email bounce reported later, an SMS
// the carrier could not deliver) is sent again on the next channel as the same delivery: reopened, then
// completed by the one send path, so it stays one row that ends sent, failed or suppressed.
import { and, eq, inArray } from 'drizzle-orm';
import type { Channel } from '../../domain/messaging';
import type { FieldCipher } from '../../security/field-cipher';
import { deliveries, type Delivery } from '../schema';
import type { Queryable } from '../tenant';

/**
 * Reopens the delivery if its last channel was `failedChannel` and it is complete; a pending one (an
 * earlier attempt of the same fallback reopened it) is returned as it is. Undefined when there is nothing
 * to fall back from: the delivery moved on to another channel already, or never went out.
 */
export async function reopenForFallback(
  db: Queryable,
  clinicId: string,
  deliveryId: string,
  failedChannel: Channel,
): Promise<Delivery | undefined> {
  const [current] = await db
    .select()
    .from(deliveries)
    .where(and(eq(deliveries.clinicId, clinicId), eq(deliveries.id, deliveryId)))
    .for('update');
  if (!current) return undefined;
  if (current.status === 'pending') return current;
  if (current.channel !== failedChannel) return undefined;
  const [reopened] = await db
    .update(deliveries)
    .set({ status: 'pending', completedAt: null, reason: null, lastAttemptAt: null })
    .where(
      and(
        eq(deliveries.clinicId, clinicId),
        eq(deliveries.id, deliveryId),
        inArray(deliveries.status, ['sent', 'delivered', 'failed']),
      ),
    )
    .returning();
  return reopened;
}

/** The template values the delivery was first sent with (the send path stores its request encrypted). */
export function decryptFacts(cipher: FieldCipher, delivery: Delivery): Record<string, string> {
  if (!delivery.requestEnc) return {};
  const stored = JSON.parse(
    cipher.decrypt(delivery.requestEnc, {
      clinicId: delivery.clinicId,
      table: 'deliveries',
      column: 'request_enc',
      rowId: delivery.id,
    }),
  ) as { facts?: Record<string, string> };
  return stored.facts ?? {};
}
