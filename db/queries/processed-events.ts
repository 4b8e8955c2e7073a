import { and, eq } from 'drizzle-orm';
import { processedEvents } from '../schema';
import type { Queryable } from '../tenant';

/** Whether the event with this keyed hash was acted on before. */
export async function wasEventProcessed(
  db: Queryable,
  clinicId: string,
  eventIndex: string,
): Promise<boolean> {
  const [row] = await db
    .select({ at: processedEvents.processedAt })
    .from(processedEvents)
    .where(and(eq(processedEvents.clinicId, clinicId), eq(processedEvents.eventIndex, eventIndex)));
  return row !== undefined;
}

export async function rememberProcessedEvent(
  db: Queryable,
  clinicId: string,
  eventIndex: string,
): Promise<void> {
  await rememberProcessedEvents(db, clinicId, [eventIndex]);
}

/** Several at once (a bulk import's batch, with its progress). */
export async function rememberProcessedEvents(
  db: Queryable,
  clinicId: string,
  eventIndexes: string[],
): Promise<void> {
  if (eventIndexes.length === 0) return;
  await db
    .insert(processedEvents)
    .values(eventIndexes.map((eventIndex) => ({ clinicId, eventIndex })))
    .onConflictDoNothing();
}
