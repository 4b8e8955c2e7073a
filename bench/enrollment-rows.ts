// Which journeys a benchmark started, from the enrollment rows carebell wrote for them (the owner's login:
// the bench reads across whatever it needs, row-level security is for the application).
import { and, asc, eq, gte, inArray } from 'drizzle-orm';
import type { Database } from '../db/client';
import { enrollments } from '../db/schema';

export async function workflowIdsOf(
  owner: Database,
  clinicId: string,
  patientIds: string[],
): Promise<string[]> {
  const rows = await owner
    .select({ workflowId: enrollments.workflowId })
    .from(enrollments)
    .where(and(eq(enrollments.clinicId, clinicId), inArray(enrollments.patientId, patientIds)));
  return rows.map((row) => row.workflowId);
}

export async function workflowIdsSince(
  owner: Database,
  clinicId: string,
  journeyKey: string,
  since: Date,
): Promise<string[]> {
  const rows = await owner
    .select({ workflowId: enrollments.workflowId })
    .from(enrollments)
    .where(
      and(
        eq(enrollments.clinicId, clinicId),
        eq(enrollments.journeyKey, journeyKey),
        gte(enrollments.startedAt, since),
      ),
    )
    // In the order they were enrolled: latestSettled watches the last ones first.
    .orderBy(asc(enrollments.startedAt));
  return rows.map((row) => row.workflowId);
}
