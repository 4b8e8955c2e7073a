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
  await db.insert(processedEvents).values({ clinicId, eventIndex }).onConflictDoNothing();
}
