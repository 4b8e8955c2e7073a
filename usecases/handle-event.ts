// What an EHR event does: starts the clinic's journeys it triggers and passes it to the patient's running
// journeys, which end when it is their goal. A bad event is refused before anything is written or started.
import { WorkflowNotFoundError } from '@temporalio/client';
import { getClinic } from '../db/queries/clinics';
import { activeEnrollments, endEnrollment } from '../db/queries/enrollments';
import { appendAudits, type AuditEntry } from '../db/queries/audit';
import {
  findPatientIdByExternalId,
  findPatientIdByExternalIdAuditLater,
  getPatientSettings,
} from '../db/queries/patients';
import { rememberProcessedEvent, wasEventProcessed } from '../db/queries/processed-events';
import { readCare, updateCare } from '../db/queries/care';
import { recordScreening, type ScreeningRecord } from '../db/queries/screenings';
import { withClinic, type Transaction } from '../db/tenant';
import { CarebellError } from '../domain/errors';
import { excludedByTrigger } from '../domain/facts';
import { eventSignal } from '../domain/journey';
import type { ClinicEvent } from '../journeys/events';
import { applyCareEvent, CARE_EVENTS, careEventProblem } from '../journeys/care';
import { programsEndedBy, screeningProgramOf } from '../journeys/screening';
import type { JourneyDefinition } from '../journeys/schema';
import { normaliseSubject } from '../domain/subject';
import {
  claimEnrollmentIn,
  clinicJourneys,
  enrollmentProblem,
  startClaimed,
  subjectIndex,
  type ClaimedEnrollment,
  type Enrolled,
  type EnrollmentDeps,
  type EnrollRequest,
} from './enroll';

/** Recorded with the patient's screenings, so the daily check counts from them. */
const SCREENING_EVENTS: Record<string, (facts: Record<string, string>) => ScreeningRecord['status']> = {
  'screening.completed': (facts) => (facts.elsewhere === 'true' ? 'elsewhere' : 'done'),
  'screening.declined': () => 'declined',
  'screening.excluded': () => 'exclusion',
};

export interface EventOutcome {
  patientId: string;
  /** The EHR sent this event (same id) before and it was acted on then: nothing was signalled or recorded. */
  repeat: boolean;
  started: Enrolled[];
  /** Journeys the event type starts that do not apply to it (their `trigger.unless`), e.g. as-needed. */
  excluded: string[];
  /** Running journeys the event was passed to (a goal event ends them). */
  signalled: { journey: string; workflowId: string }[];
}

/**
 * What a bulk import reads once per batch instead of once per event, and how it remembers the events it
 * acted on: with the batch's progress, in one statement, rather than one transaction per event.
 */
export interface EventBatch {
  /** The clinic's journeys when the batch began (the clinic exists). */
  journeys: JourneyDefinition[];
  /**
   * Keyed hashes of the events acted on in full earlier in this import and not yet remembered in the
   * database (they are remembered with their batch's progress): a repeat among them is a repeat.
   */
  actedOn: Set<string>;
  /** Called once an event has been acted on in full, instead of remembering it at once. */
  remember: (eventIndex: string) => void;
  /** Runs the event's transaction when the import allows another one (its share of the pool). */
  inTransaction: <T>(work: () => Promise<T>) => Promise<T>;
}

/**
 * Acts on one EHR event: starts the clinic's journeys it triggers and passes it to the patient's running
 * journeys (other than those it starts), which end when it is their goal. Idempotent: a repeated event
 * finds the journeys the first one started, and an event id seen before (after it was fully acted on)
 * signals nothing, so a late repeat of an old dispense cannot end the journey a newer one started.
 */
export async function handleEvent(
  deps: EnrollmentDeps,
  clinicId: string,
  received: ClinicEvent,
  /** Who sent it, for the audit log: the EHR integration's API key, or the CLI. */
  actor = 'ehr-event',
  batch?: EventBatch,
): Promise<EventOutcome> {
  const event = await asRescheduleIfMoved(deps, clinicId, received, actor);
  const { anchorDate } = event;
  // A screening is about its program: a FIT (or its CPT code) ends the colorectal journey a sweep started.
  const about =
    event.subject && event.type.startsWith('screening.') ? screeningProgramOf(event.subject) : event.subject;
  // Keyed like the other EHR ids: event ids may carry identifiers, and are only ever stored hashed.
  const eventIndex =
    event.eventId === undefined
      ? undefined
      : deps.cipher.blindIndex('event', clinicId, `${event.type}|${event.eventId}`);
  // One transaction checks the event and claims the enrollment rows it starts. A refusal is returned, not
  // thrown, from it: the audit rows of the look-ups made before it must be committed, whatever the outcome.
  // Audit rows are appended last, so the audit chain's lock (one for every writer) is held only to the
  // commit, not across the other statements.
  const transaction = () =>
    withClinic(deps.db, clinicId, async (tx) => {
      const audits: AuditEntry[] = [];
      const outcome = await checkAndClaim(tx, audits);
      await appendAudits(tx, audits);
      return outcome;
    });
  const checked = await (batch ? batch.inTransaction(transaction) : transaction());
  async function checkAndClaim(tx: Transaction, audits: AuditEntry[]) {
    // The reads go out in two pipelined batches (on the transaction's one connection) rather than one
    // round trip each: what needs only the event, then what needs the patient.
    const [clinicFound, patientLookup, journeys, repeat] = await Promise.all([
      batch ? true : getClinic(tx, clinicId),
      'id' in event.patient
        ? { id: event.patient.id, audit: undefined }
        : findPatientIdByExternalIdAuditLater(tx, deps.cipher, actor, clinicId, event.patient.ehrId),
      batch ? batch.journeys : clinicJourneys(tx, clinicId),
      eventIndex !== undefined &&
        (batch?.actedOn.has(eventIndex) === true || wasEventProcessed(tx, clinicId, eventIndex)),
    ]);
    if (!clinicFound) return { missing: `no clinic ${clinicId}` };
    if (patientLookup.audit) audits.push(patientLookup.audit);
    const patientId = patientLookup.id;
    const [patient, active] = patientId
      ? await Promise.all([
          getPatientSettings(tx, clinicId, patientId),
          repeat ? [] : activeEnrollments(tx, clinicId, patientId),
        ])
      : [undefined, []];
    if (!patientId || !patient) return { missing: 'patient: no such patient in this clinic' };
    const candidates = journeys.filter((journey) => triggers(journey, event.type));
    const triggered = candidates.filter((journey) => !excludedByTrigger(journey, event.facts ?? {}));
    const rejected = whyRejected(event, candidates, triggered, patient.status, repeat);
    if (rejected) return { rejected };
    const screeningStatus = SCREENING_EVENTS[event.type];
    const recordsCare = (CARE_EVENTS as readonly string[]).includes(event.type) && !repeat;
    // These write audit rows of their own (taking the chain's lock for the rest of the transaction
    // anyway): the look-up's row goes first, in the order things happened.
    if ((screeningStatus && !repeat) || recordsCare) await appendAudits(tx, audits.splice(0));
    if (screeningStatus && !repeat) {
      await recordScreening(tx, deps.cipher, actor, clinicId, patientId, {
        test: event.subject!,
        performedOn: event.occurredOn!,
        status: screeningStatus(event.facts ?? {}),
      });
    }
    if (recordsCare) {
      const care = { ...event, subject: event.subject && subjectIndex(deps.cipher, clinicId, event.subject) };
      await updateCare(tx, deps.cipher, actor, clinicId, patientId, (current) =>
        applyCareEvent(current, care),
      );
    }
    // Claimed here, with the checks they passed; the workflows start once this has committed.
    const claims: { request: EnrollRequest; claimed: ClaimedEnrollment }[] = [];
    for (const journey of triggered) {
      const request: EnrollRequest = {
        clinicId,
        patientId,
        journey,
        anchorDate: anchorDate!,
        facts: event.facts,
        details: event.details,
        occurrence: event.eventId ?? `${event.type}|${about ? normaliseSubject(about) : ''}|${anchorDate}`,
        subject: about,
        timeZone: patient.timeZone,
      };
      const claimed = await claimEnrollmentIn(tx, deps, request);
      audits.push(...claimed.audits);
      claims.push({ request, claimed });
    }
    return {
      patientId,
      journeys,
      claims,
      excluded: candidates.filter((journey) => !triggered.includes(journey)).map((journey) => journey.key),
      repeat,
      active,
    };
  }
  if ('missing' in checked) throw new CarebellError('PatientNotFound', checked.missing);
  if ('rejected' in checked) throw new CarebellError('EventRejected', checked.rejected);
  const { patientId, journeys, claims, excluded, active, repeat } = checked;

  const started: Enrolled[] = [];
  for (const { request, claimed } of claims) started.push(await startClaimed(deps, request, claimed));

  // What the event is about, as stored: an exclusion (a hysterectomy) is about the programs it ends.
  const subjects =
    event.type === 'screening.excluded'
      ? programsEndedBy(event.subject!).map((program) => subjectIndex(deps.cipher, clinicId, program))
      : about && [subjectIndex(deps.cipher, clinicId, about)];
  const signalled: EventOutcome['signalled'] = [];
  for (const enrollment of active) {
    if (started.some((enrolled) => enrolled.workflowId === enrollment.workflowId)) continue;
    // A journey about something (a prescription, a test) ends or restarts only on events about the same
    // thing; other events (a reply, a booking) reach it whatever they are about.
    const journey = journeys.find((known) => known.key === enrollment.journeyKey);
    const subjectBound =
      journey !== undefined &&
      (journey.goal.event === event.type ||
        triggers(journey, event.type) ||
        journey.endsOn?.some((end) => end.event === event.type) === true);
    if (subjectBound && enrollment.subject && !subjects?.includes(enrollment.subject)) continue;
    try {
      await deps.client.workflow.getHandle(enrollment.workflowId).signal(eventSignal, event.type);
      signalled.push({ journey: enrollment.journeyKey, workflowId: enrollment.workflowId });
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      // A journey records its own end before it completes, so one still active here was stopped from
      // outside (terminated, timed out): say so, so it no longer counts as running.
      await withClinic(deps.db, clinicId, (tx) =>
        endEnrollment(tx, clinicId, enrollment.workflowId, 'terminated'),
      );
    }
  }
  // Only once everything is done: an event cut short by a crash is acted on in full when it comes again.
  if (eventIndex !== undefined && !repeat) {
    if (batch) batch.remember(eventIndex);
    else await withClinic(deps.db, clinicId, (tx) => rememberProcessedEvent(tx, clinicId, eventIndex));
  }
  return { patientId, repeat, started, excluded, signalled };
}

/**
 * Many EHRs (and FHIR, which has no "rescheduled" status) report a moved appointment as booked again with
 * a new date: an appointment known on another date is a reschedule, so its old reminders end.
 */
async function asRescheduleIfMoved(
  deps: EnrollmentDeps,
  clinicId: string,
  event: ClinicEvent,
  actor: string,
): Promise<ClinicEvent> {
  if (event.type !== 'appointment.booked' || !event.subject || !event.anchorDate) return event;
  const bookedOn = await withClinic(deps.db, clinicId, async (tx) => {
    const patientId =
      'id' in event.patient
        ? event.patient.id
        : await findPatientIdByExternalId(tx, deps.cipher, actor, clinicId, event.patient.ehrId);
    const care = patientId && (await readCare(tx, deps.cipher, actor, clinicId, patientId));
    return care ? care.appointments?.[subjectIndex(deps.cipher, clinicId, event.subject!)] : undefined;
  });
  return bookedOn !== undefined && bookedOn !== event.anchorDate
    ? { ...event, type: 'appointment.rescheduled' }
    : event;
}

const triggers = (journey: JourneyDefinition, type: string) =>
  journey.trigger.event === type || journey.trigger.also?.includes(type) === true;

/** Why the event cannot be acted on as sent, if it cannot. */
function whyRejected(
  event: ClinicEvent,
  /** The journeys the event type starts, and those of them it applies to. */
  candidates: JourneyDefinition[],
  triggered: JourneyDefinition[],
  patientStatus: string,
  repeat: boolean,
): string | undefined {
  if (triggered.length > 0 && patientStatus !== 'active')
    return `patient: is ${patientStatus}; ${event.type} would start ${triggered.map((journey) => journey.key).join(', ')}`;
  if (triggered.length > 0 && event.anchorDate === undefined) {
    const needs = triggered.map((journey) => `${journey.key} (${journey.anchor})`).join(', ');
    return `anchorDate: ${event.type} starts ${needs}, which count from that date`;
  }
  for (const journey of candidates) {
    const problem = enrollmentProblem(journey, event.facts ?? {});
    if (problem) return problem;
  }
  if (SCREENING_EVENTS[event.type] && !repeat && (!event.subject || !event.occurredOn))
    return `${event.type} needs subject (the test, e.g. mammogram, or for an exclusion the procedure) and occurredOn (the day)`;
  return careEventProblem(event);
}
