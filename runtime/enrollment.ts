// Enrolling patients in journeys, from an EHR event or a sweep. The clinic's current version of a journey
// is pinned in the enrollment row before the workflow starts, so a repeated event, or a retry after a
// crash between the two, starts the same version under the same workflow id.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Database } from '../db/client';
import { getClinic } from '../db/queries/clinics';
import { activeEnrollments, claimEnrollment, endEnrollment } from '../db/queries/enrollments';
import { getJourneyVersion, latestClinicJourneys } from '../db/queries/journeys';
import { findPatientIdByExternalId, getPatientSettings } from '../db/queries/patients';
import { recordScreening } from '../db/queries/screenings';
import { withClinic, type Queryable } from '../db/tenant';
import { builtInJourneys } from '../journeys/built-in';
import type { ClinicEvent } from '../journeys/events';
import type { JourneyDefinition } from '../journeys/schema';
import type { FieldCipher } from '../security/field-cipher';
import { eventSignal, journeyWorkflowId } from '../workflows/journey-types';
import { startJourney } from './start-workflows';

/** Recorded as a screening, so the daily check counts the next one from it. */
const SCREENING_DONE = 'screening.completed';

export interface EnrollmentDeps {
  /** An application connection (row-level security applies). */
  db: Database;
  cipher: FieldCipher;
  client: Client;
  taskQueue: string;
}

/** An event that cannot be acted on as sent; nothing was started or signalled. */
export class EventRejectedError extends Error {
  override name = 'EventRejectedError';
}

/** The journeys a clinic runs: the built-in ones, each replaced by the clinic's newest version if any. */
export async function clinicJourneys(db: Queryable, clinicId: string): Promise<JourneyDefinition[]> {
  const own = await latestClinicJourneys(db, clinicId);
  const builtIn = builtInJourneys().filter((journey) => !own.some((mine) => mine.key === journey.key));
  return [...builtIn, ...own].sort((a, b) => a.key.localeCompare(b.key));
}

async function pinnedVersion(db: Queryable, clinicId: string, key: string, version: number) {
  const definition =
    (await getJourneyVersion(db, clinicId, key, version)) ??
    builtInJourneys().find((journey) => journey.key === key && journey.version === version);
  if (!definition) throw new Error(`journey ${key} v${version} is pinned by an enrollment but missing`);
  return definition;
}

export interface EnrollRequest {
  clinicId: string;
  patientId: string;
  /** The clinic's current version; a repeat of an earlier enrollment keeps the version pinned then. */
  journey: JourneyDefinition;
  anchorDate: string;
  facts?: Record<string, string>;
  /** What makes this enrollment one occurrence: the EHR's event id, or a sweep's due date. */
  occurrence: string;
  subject?: string;
}

export interface Enrolled {
  journey: string;
  version: number;
  workflowId: string;
  /** False when this occurrence was enrolled before: the running (or finished) journey was found. */
  created: boolean;
}

export async function enroll(deps: EnrollmentDeps, request: EnrollRequest): Promise<Enrolled> {
  const { clinicId, patientId, journey } = request;
  const episode = deps.cipher.blindIndex('episode', clinicId, `${journey.key}|${request.occurrence}`);
  const workflowId = journeyWorkflowId({ clinicId, patientId, key: journey.key, episode });
  const { enrollment, created, definition } = await withClinic(deps.db, clinicId, async (tx) => {
    const claimed = await claimEnrollment(tx, {
      clinicId,
      patientId,
      journeyKey: journey.key,
      journeyVersion: journey.version,
      category: journey.category,
      episode,
      subject:
        request.subject === undefined ? null : deps.cipher.blindIndex('subject', clinicId, request.subject),
      workflowId,
    });
    const pinned =
      claimed.enrollment.journeyVersion === journey.version
        ? journey
        : await pinnedVersion(tx, clinicId, journey.key, claimed.enrollment.journeyVersion);
    return { ...claimed, definition: pinned };
  });
  await startJourney(deps.client, deps.taskQueue, {
    clinicId,
    patientId,
    episode,
    definition,
    anchorDate: request.anchorDate,
    facts: request.facts,
  });
  return { journey: journey.key, version: enrollment.journeyVersion, workflowId, created };
}

export interface EventOutcome {
  patientId: string;
  started: Enrolled[];
  /** Running journeys the event was passed to (a goal event ends them). */
  signalled: { journey: string; workflowId: string }[];
}

/**
 * Acts on one EHR event: starts the clinic's journeys it triggers and passes it to the patient's running
 * journeys (other than those it starts), which end when it is their goal. Idempotent: a repeated event
 * finds the journeys the first one started.
 */
export async function handleEvent(
  deps: EnrollmentDeps,
  clinicId: string,
  event: ClinicEvent,
): Promise<EventOutcome> {
  const { anchorDate } = event;
  const { patientId, journeys, triggered, active } = await withClinic(deps.db, clinicId, async (tx) => {
    if (!(await getClinic(tx, clinicId))) throw new EventRejectedError(`no clinic ${clinicId}`);
    const patientId =
      'id' in event.patient
        ? event.patient.id
        : await findPatientIdByExternalId(tx, deps.cipher, clinicId, event.patient.ehrId);
    const patient = patientId && (await getPatientSettings(tx, clinicId, patientId));
    if (!patientId || !patient) throw new EventRejectedError('patient: no such patient in this clinic');
    const journeys = await clinicJourneys(tx, clinicId);
    const triggered = journeys.filter((journey) => journey.trigger.event === event.type);
    if (triggered.length > 0 && patient.status !== 'active') {
      throw new EventRejectedError(
        `patient: is ${patient.status}; ${event.type} would start ${triggered.map((journey) => journey.key).join(', ')}`,
      );
    }
    if (triggered.length > 0 && anchorDate === undefined) {
      const needs = triggered.map((journey) => `${journey.key} (${journey.anchor})`).join(', ');
      throw new EventRejectedError(`anchorDate: ${event.type} starts ${needs}, which count from that date`);
    }
    if (event.type === SCREENING_DONE) {
      if (!event.subject || !event.occurredOn)
        throw new EventRejectedError(
          `${SCREENING_DONE} needs subject (the test, e.g. mammogram) and occurredOn (the day it was done)`,
        );
      await recordScreening(tx, deps.cipher, clinicId, patientId, {
        test: event.subject,
        performedOn: event.occurredOn,
      });
    }
    return { patientId, journeys, triggered, active: await activeEnrollments(tx, clinicId, patientId) };
  });

  const started: Enrolled[] = [];
  for (const journey of triggered) {
    started.push(
      await enroll(deps, {
        clinicId,
        patientId,
        journey,
        anchorDate: anchorDate!,
        facts: event.facts,
        occurrence: event.eventId ?? `${event.type}|${event.subject ?? ''}|${anchorDate}`,
        subject: event.subject,
      }),
    );
  }

  const subject = event.subject && deps.cipher.blindIndex('subject', clinicId, event.subject);
  const signalled: EventOutcome['signalled'] = [];
  for (const enrollment of active) {
    if (started.some((enrolled) => enrolled.workflowId === enrollment.workflowId)) continue;
    // A journey about something (a prescription, a test) ends or restarts only on events about the same
    // thing; other events (a reply, a booking) reach it whatever they are about.
    const journey = journeys.find((known) => known.key === enrollment.journeyKey);
    const subjectBound = journey?.goal.event === event.type || journey?.trigger.event === event.type;
    if (subjectBound && enrollment.subject && enrollment.subject !== subject) continue;
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
  return { patientId, started, signalled };
}
