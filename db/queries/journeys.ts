import { and, desc, eq, sql } from 'drizzle-orm';
import type { JourneyDefinition } from '../../journeys/schema';
import { journeyDefinitions } from '../schema';
import type { Queryable } from '../tenant';

/**
 * Stores a clinic's edit of a journey as a new version, numbered after every version that exists (its
 * own and `floor`, the built-in one it replaces). Versions are never changed, so enrollments pinned to
 * an older one keep it.
 */
export async function publishJourneyVersion(
  db: Queryable,
  clinicId: string,
  definition: JourneyDefinition,
  floor: number,
): Promise<JourneyDefinition> {
  // One publisher at a time per (clinic, journey), so two cannot take the same number.
  await db.execute(sql`select pg_advisory_xact_lock(hashtext(${`journey:${clinicId}:${definition.key}`}))`);
  const [latest] = await db
    .select({ version: journeyDefinitions.version })
    .from(journeyDefinitions)
    .where(and(eq(journeyDefinitions.clinicId, clinicId), eq(journeyDefinitions.key, definition.key)))
    .orderBy(desc(journeyDefinitions.version))
    .limit(1);
  const published = { ...definition, version: Math.max(latest?.version ?? 0, floor) + 1 };
  await db.insert(journeyDefinitions).values({
    clinicId,
    key: published.key,
    version: published.version,
    definition: published,
  });
  return published;
}

/** The newest version of each journey the clinic has published. */
export async function latestClinicJourneys(db: Queryable, clinicId: string): Promise<JourneyDefinition[]> {
  const rows = await db
    .selectDistinctOn([journeyDefinitions.key], { definition: journeyDefinitions.definition })
    .from(journeyDefinitions)
    .where(eq(journeyDefinitions.clinicId, clinicId))
    .orderBy(journeyDefinitions.key, desc(journeyDefinitions.version));
  return rows.map((row) => row.definition as JourneyDefinition);
}

export async function getJourneyVersion(
  db: Queryable,
  clinicId: string,
  key: string,
  version: number,
): Promise<JourneyDefinition | undefined> {
  const [row] = await db
    .select({ definition: journeyDefinitions.definition })
    .from(journeyDefinitions)
    .where(
      and(
        eq(journeyDefinitions.clinicId, clinicId),
        eq(journeyDefinitions.key, key),
        eq(journeyDefinitions.version, version),
      ),
    );
  return row?.definition as JourneyDefinition | undefined;
}
