import { and, eq } from 'drizzle-orm';
import { journeyActivations } from '../schema';
import type { Queryable } from '../tenant';

/** Keys of the journeys the clinic has switched off. */
export async function inactiveJourneyKeys(db: Queryable, clinicId: string): Promise<Set<string>> {
  const rows = await db
    .select({ key: journeyActivations.key })
    .from(journeyActivations)
    .where(and(eq(journeyActivations.clinicId, clinicId), eq(journeyActivations.active, false)));
  return new Set(rows.map((row) => row.key));
}

export async function setJourneyActivation(
  db: Queryable,
  clinicId: string,
  key: string,
  active: boolean,
): Promise<void> {
  await db
    .insert(journeyActivations)
    .values({ clinicId, key, active })
    .onConflictDoUpdate({
      target: [journeyActivations.clinicId, journeyActivations.key],
      set: { active, updatedAt: new Date() },
    });
}
