import { and, eq, inArray } from 'drizzle-orm';
import type { Channel } from '../../domain/messaging';
import { suppressions } from '../schema';
import type { Queryable } from '../tenant';

/** Of these address indexes, those the clinic must never send to. */
export async function suppressedAddresses(
  db: Queryable,
  clinicId: string,
  addressIndexes: string[],
): Promise<Set<string>> {
  if (addressIndexes.length === 0) return new Set();
  const rows = await db
    .select({ addressIndex: suppressions.addressIndex })
    .from(suppressions)
    .where(and(eq(suppressions.clinicId, clinicId), inArray(suppressions.addressIndex, addressIndexes)));
  return new Set(rows.map((row) => row.addressIndex));
}

/** Puts an address on the list (a carrier-level STOP, a hard bounce); the first reason recorded stays. */
export async function suppressAddress(
  db: Queryable,
  entry: { clinicId: string; channel: Channel; addressIndex: string; reason: string },
): Promise<void> {
  await db.insert(suppressions).values(entry).onConflictDoNothing();
}
