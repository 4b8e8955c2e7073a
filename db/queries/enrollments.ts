import { and, asc, desc, eq, gt, gte, lt } from 'drizzle-orm';
import { enrollments } from '../schema';
import type { JourneyOutcome } from '../../domain/journey';
import type { FieldCipher } from '../../security/field-cipher';
import type { Queryable } from '../tenant';

export type Enrollment = typeof enrollments.$inferSelect;
export type EnrollmentClaim = Pick<
  Enrollment,
  | 'clinicId'
  | 'patientId'
  | 'journeyKey'
  | 'journeyVersion'
  | 'category'
  | 'episode'
  | 'subject'
  | 'workflowId'
  | 'variants'
> &
  Partial<Pick<Enrollment, 'id' | 'detailsEnc' | 'nextSendAt'>>;

const detailsField = (clinicId: string, enrollmentId: string) => ({
  clinicId,
  table: 'enrollments',
  column: 'details_enc',
  rowId: enrollmentId,
});

/** An event's pickup-only details, encrypted for the enrollment row `enrollmentId`. */
export function encryptEnrollmentDetails(
  cipher: FieldCipher,
  clinicId: string,
  enrollmentId: string,
  details: Record<string, string>,
): string {
  return cipher.encrypt(JSON.stringify(details), detailsField(clinicId, enrollmentId));
}

/** The enrollment's pickup-only details, or null; the caller audits the read. */
export function decryptEnrollmentDetails(
  cipher: FieldCipher,
  enrollment: Pick<Enrollment, 'clinicId' | 'id' | 'detailsEnc'>,
): Record<string, string> | null {
  if (enrollment.detailsEnc === null) return null;
  return JSON.parse(
    cipher.decrypt(enrollment.detailsEnc, detailsField(enrollment.clinicId, enrollment.id)),
  ) as Record<string, string>;
}

/**
 * The enrollment for this workflow id, created if this is the first time the event is seen. A repeated
 * event gets the row (and so the pinned version) the first one created.
 */
export async function claimEnrollment(
  db: Queryable,
  claim: EnrollmentClaim,
): Promise<{ enrollment: Enrollment; created: boolean }> {
  const [created] = await db.insert(enrollments).values(claim).onConflictDoNothing().returning();
  if (created) return { enrollment: created, created: true };
  const [existing] = await db
    .select()
    .from(enrollments)
    .where(and(eq(enrollments.clinicId, claim.clinicId), eq(enrollments.workflowId, claim.workflowId)));
  if (!existing) throw new Error(`enrollment ${claim.workflowId} exists under another clinic`);
  return { enrollment: existing, created: false };
}

export async function activeEnrollments(
  db: Queryable,
  clinicId: string,
  patientId: string,
): Promise<Enrollment[]> {
  return db
    .select()
    .from(enrollments)
    .where(
      and(
        eq(enrollments.clinicId, clinicId),
        eq(enrollments.patientId, patientId),
        eq(enrollments.status, 'active'),
      ),
    );
}

/** Ends an active enrollment; false when it had already ended (or was never active). */
export async function endEnrollment(
  db: Queryable,
  clinicId: string,
  workflowId: string,
  /** How the journey ended, or `terminated` when it was stopped from outside Temporal's normal course. */
  outcome: JourneyOutcome | 'terminated',
  reason: string | null = null,
): Promise<boolean> {
  const ended = await db
    .update(enrollments)
    .set({
      status:
        outcome === 'cancelled'
          ? 'cancelled'
          : outcome === 'opted-out' || outcome === 'terminated' || outcome === 'failed' || outcome === 'ended'
            ? 'exited'
            : 'completed',
      outcome,
      endReason: reason,
      nextSendAt: null,
      endedAt: new Date(),
    })
    .where(
      and(
        eq(enrollments.clinicId, clinicId),
        eq(enrollments.workflowId, workflowId),
        eq(enrollments.status, 'active'),
      ),
    )
    .returning({ id: enrollments.id });
  return ended.length > 0;
}

/** Records (or clears) the journey's next planned send. */
export async function planEnrollmentSend(
  db: Queryable,
  clinicId: string,
  workflowId: string,
  at: Date | null,
): Promise<void> {
  await db
    .update(enrollments)
    .set({ nextSendAt: at })
    .where(and(eq(enrollments.clinicId, clinicId), eq(enrollments.workflowId, workflowId)));
}

/** Sends that the patient's active transactional journeys plan between `from` and `to`. */
export async function plannedTransactionalSends(
  db: Queryable,
  clinicId: string,
  patientId: string,
  from: Date,
  to: Date,
): Promise<number[]> {
  const rows = await db
    .select({ at: enrollments.nextSendAt })
    .from(enrollments)
    .where(
      and(
        eq(enrollments.clinicId, clinicId),
        eq(enrollments.patientId, patientId),
        eq(enrollments.status, 'active'),
        eq(enrollments.category, 'transactional'),
        gte(enrollments.nextSendAt, from),
        lt(enrollments.nextSendAt, to),
      ),
    );
  return rows.flatMap((row) => (row.at ? [row.at.getTime()] : []));
}

export function patientEnrollments(
  db: Queryable,
  clinicId: string,
  patientId: string,
): Promise<Enrollment[]> {
  return db
    .select()
    .from(enrollments)
    .where(and(eq(enrollments.clinicId, clinicId), eq(enrollments.patientId, patientId)))
    .orderBy(desc(enrollments.startedAt));
}

export async function getEnrollment(
  db: Queryable,
  clinicId: string,
  id: string,
): Promise<Enrollment | undefined> {
  const [row] = await db
    .select()
    .from(enrollments)
    .where(and(eq(enrollments.clinicId, clinicId), eq(enrollments.id, id)));
  return row;
}

/** A page of a clinic's active enrollments in id order: what the reconciler checks against Temporal. */
export function activeEnrollmentsPage(
  db: Queryable,
  clinicId: string,
  afterId: string | null,
  limit: number,
): Promise<Enrollment[]> {
  return db
    .select()
    .from(enrollments)
    .where(
      and(
        eq(enrollments.clinicId, clinicId),
        eq(enrollments.status, 'active'),
        afterId === null ? undefined : gt(enrollments.id, afterId),
      ),
    )
    .orderBy(asc(enrollments.id))
    .limit(limit);
}

export async function getEnrollmentByWorkflow(
  db: Queryable,
  clinicId: string,
  workflowId: string,
): Promise<Enrollment | undefined> {
  const [row] = await db
    .select()
    .from(enrollments)
    .where(and(eq(enrollments.clinicId, clinicId), eq(enrollments.workflowId, workflowId)));
  return row;
}
