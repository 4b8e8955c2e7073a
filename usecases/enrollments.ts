// A clinic's hands on one enrollment: start it by hand, pause, resume or cancel it, pass it an event, read
// it. Temporal is the truth about whether a journey still runs: an enrollment whose workflow was stopped
// from outside (terminated, timed out) is closed when that is noticed, here or by the reconciler.
import { WorkflowNotFoundError } from '@temporalio/client';
import { enrollmentDeliveries } from '../db/queries/deliveries';
import { enrollmentReplies } from '../db/queries/replies';
import {
  activeEnrollmentsPage,
  endEnrollment,
  getEnrollment,
  type Enrollment,
} from '../db/queries/enrollments';
import { getPatientSettings } from '../db/queries/patients';
import { withClinic } from '../db/tenant';
import { CarebellError } from '../domain/errors';
import { cancelSignal, eventSignal, pauseSignal, resumeSignal } from '../domain/journey';
import { clinicJourneys, enroll, type Enrolled, type EnrollmentDeps } from './enroll';

export type EnrollmentAction = 'pause' | 'resume' | 'cancel';

const signals = { pause: pauseSignal, resume: resumeSignal, cancel: cancelSignal } as const;

/** Enrolls a patient by hand; the same patient, journey and anchor date find the same enrollment. */
export async function enrollByHand(
  deps: EnrollmentDeps,
  clinicId: string,
  request: {
    patientId: string;
    journey: string;
    anchorDate: string;
    facts?: Record<string, string>;
    subject?: string;
  },
): Promise<Enrolled> {
  const journey = await withClinic(deps.db, clinicId, async (tx) => {
    const patient = await getPatientSettings(tx, clinicId, request.patientId);
    if (!patient) throw new CarebellError('PatientNotFound', 'patientId: no such patient in this clinic');
    if (patient.status !== 'active')
      throw new CarebellError('EventRejected', `patientId: the patient is ${patient.status}`);
    return (await clinicJourneys(tx, clinicId)).find((known) => known.key === request.journey);
  });
  if (!journey) throw new CarebellError('PatientNotFound', 'journey: no such active journey in this clinic');
  return enroll(deps, {
    clinicId,
    patientId: request.patientId,
    journey,
    anchorDate: request.anchorDate,
    facts: request.facts,
    subject: request.subject,
    occurrence: `by-hand|${request.anchorDate}`,
  });
}

export async function findEnrollment(deps: EnrollmentDeps, clinicId: string, id: string) {
  const found = await withClinic(deps.db, clinicId, async (tx) => {
    const enrollment = await getEnrollment(tx, clinicId, id);
    return (
      enrollment && {
        enrollment,
        deliveries: await enrollmentDeliveries(tx, clinicId, enrollment.workflowId),
        replies: await enrollmentReplies(tx, clinicId, enrollment.id),
      }
    );
  });
  if (!found) return undefined;
  if (found.enrollment.status === 'active' && (await closedFromOutside(deps, found.enrollment)))
    return findEnrollment(deps, clinicId, id);
  return found;
}

/** Signals a running enrollment; false when it is not running (ended, or stopped from outside). */
export async function signalEnrollment(
  deps: EnrollmentDeps,
  clinicId: string,
  id: string,
  what: EnrollmentAction | { event: string },
): Promise<'signalled' | 'not-running' | 'not-found'> {
  const enrollment = await withClinic(deps.db, clinicId, (tx) => getEnrollment(tx, clinicId, id));
  if (!enrollment) return 'not-found';
  if (enrollment.status !== 'active') return 'not-running';
  const handle = deps.client.workflow.getHandle(enrollment.workflowId);
  try {
    if (typeof what === 'string') await handle.signal(signals[what]);
    else await handle.signal(eventSignal, what.event);
    return 'signalled';
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) throw error;
    await close(deps, enrollment);
    return 'not-running';
  }
}

/** Whether an active enrollment's workflow is no longer running; if so, the enrollment is closed. */
export async function closedFromOutside(deps: EnrollmentDeps, enrollment: Enrollment): Promise<boolean> {
  try {
    const { status } = await deps.client.workflow.getHandle(enrollment.workflowId).describe();
    // A journey records its own end before it completes: only a stop from outside leaves it active.
    if (status.name === 'RUNNING' || status.name === 'COMPLETED') return false;
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) throw error;
    // The row is claimed just before the workflow starts: a moment's absence is a start in progress.
    if (Date.now() - enrollment.startedAt.getTime() < STARTING_GRACE_MS) return false;
  }
  await close(deps, enrollment);
  return true;
}

const STARTING_GRACE_MS = 5 * 60_000;

/**
 * Closes every active enrollment of the clinic whose workflow was stopped from outside; returns how many.
 * `heartbeat` after every page (a long clinic keeps its activity alive).
 */
export async function reconcileClinic(
  deps: EnrollmentDeps,
  clinicId: string,
  heartbeat: () => void = () => undefined,
): Promise<number> {
  let closed = 0;
  for (let after: string | null = null; ;) {
    const page = await withClinic(deps.db, clinicId, (tx) => activeEnrollmentsPage(tx, clinicId, after, 200));
    for (const enrollment of page) if (await closedFromOutside(deps, enrollment)) closed++;
    heartbeat();
    if (page.length < 200) return closed;
    after = page[page.length - 1]!.id;
  }
}

const close = (deps: EnrollmentDeps, enrollment: Enrollment) =>
  withClinic(deps.db, enrollment.clinicId, (tx) =>
    endEnrollment(tx, enrollment.clinicId, enrollment.workflowId, 'terminated'),
  );
