// Enrolling a patient in a journey, for an EHR event (handle-event.ts) or a sweep. The clinic's current version of a journey
// is pinned in the enrollment row before the workflow starts, so a repeated event, or a retry after a
// crash between the two, starts the same version under the same workflow id.
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Database } from '../db/client';
import { appendAudits, type AuditEntry } from '../db/queries/audit';
import { claimEnrollment, encryptEnrollmentDetails } from '../db/queries/enrollments';
import { inactiveJourneyKeys } from '../db/queries/journey-activations';
import { getPatientSettings } from '../db/queries/patients';
import { getJourneyVersion, latestClinicJourneys } from '../db/queries/journeys';
import { withClinic, type Queryable } from '../db/tenant';
import { CarebellError } from '../domain/errors';
import { builtInJourneys, builtInJourneyVersion } from '../journeys/built-in';
import { factsProblem } from '../journeys/facts';
import { missingValuesProblem } from '../locales';
import type { JourneyDefinition } from '../journeys/schema';
import type { FieldCipher } from '../security/field-cipher';
import { journeyWorkflowId, type JourneyInput } from '../domain/journey';
import { normaliseSubject } from '../domain/subject';
import { planOpeningWait } from '../rules/time';
import { chooseVariant } from '../workflows/variant';
import { startJourney } from './start-workflows';

export interface EnrollmentDeps {
  /** An application connection (row-level security applies). */
  db: Database;
  cipher: FieldCipher;
  client: Client;
  taskQueue: string;
}

/**
 * The journeys a clinic runs: the built-in ones, each replaced by the clinic's newest version if any,
 * less those it switched off (unless `includeInactive`, for listings).
 */
export async function clinicJourneys(
  db: Queryable,
  clinicId: string,
  options: { includeInactive?: boolean } = {},
): Promise<JourneyDefinition[]> {
  const [own, inactive] = await Promise.all([
    latestClinicJourneys(db, clinicId),
    options.includeInactive ? new Set<string>() : inactiveJourneyKeys(db, clinicId),
  ]);
  const builtIn = builtInJourneys().filter((journey) => !own.some((mine) => mine.key === journey.key));
  return [...builtIn, ...own]
    .filter((journey) => !inactive.has(journey.key))
    .sort((a, b) => a.key.localeCompare(b.key));
}

async function pinnedVersion(db: Queryable, clinicId: string, key: string, version: number) {
  const definition =
    (await getJourneyVersion(db, clinicId, key, version)) ?? builtInJourneyVersion(key, version);
  if (!definition) throw new Error(`journey ${key} v${version} is pinned by an enrollment but missing`);
  return definition;
}

/** Why a journey cannot start with these facts: one it declares is missing or wrong, or a template needs one. */
export function enrollmentProblem(
  journey: JourneyDefinition,
  facts: Record<string, string>,
): string | undefined {
  // The anchor date is shown as {{<anchor>}}, e.g. {{appointmentDate}}.
  return (
    factsProblem(journey, facts) ?? missingValuesProblem(journey, { ...facts, [journey.anchor]: 'anchor' })
  );
}

/** The A/B variant of each step that has variants: fixed per patient, so known when the journey starts. */
function variantsOf(journey: JourneyDefinition, patientId: string): Record<string, string> | null {
  const chosen = journey.steps.flatMap((step): [string, string][] =>
    step.type === 'send' && step.variants
      ? [[step.id, chooseVariant(patientId, step.id, step.variants).key]]
      : [],
  );
  return chosen.length > 0 ? Object.fromEntries(chosen) : null;
}

/** The keyed hash a journey's subject is stored and matched under. */
export function subjectIndex(cipher: FieldCipher, clinicId: string, subject: string): string {
  return cipher.blindIndex('subject', clinicId, normaliseSubject(subject));
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
  /** What only the pickup page may show (the medication, the test, the place), kept encrypted. */
  details?: Record<string, string>;
  /** The patient's zone, read in the claim's transaction: the journey's opening wait is planned in it. */
  timeZone?: string;
}

export interface Enrolled {
  /** The enrollment's id: what the API reads it by (its deliveries, the patient's answers to it). */
  enrollmentId: string;
  journey: string;
  version: number;
  workflowId: string;
  /** False when this occurrence was enrolled before: the running (or finished) journey was found. */
  created: boolean;
}

/** An enrollment row claimed in a caller's transaction, for `startClaimed` once that has committed. */
export interface ClaimedEnrollment extends Enrolled {
  episode: string;
  /** The version the row pins (the request's, or the one an earlier claim pinned). */
  definition: JourneyDefinition;
  /** For the caller to append in the same transaction, last (see appendAudits). */
  audits: AuditEntry[];
  firstWait?: JourneyInput['firstWait'];
}

/**
 * Claims the enrollment row for `request` in `tx` (a clinic-scoped transaction): the caller commits it,
 * with the audit entries returned, before starting the workflow with `startClaimed`.
 */
export async function claimEnrollmentIn(
  tx: Queryable,
  deps: Pick<EnrollmentDeps, 'cipher'>,
  request: EnrollRequest,
): Promise<ClaimedEnrollment> {
  const { clinicId, patientId, journey } = request;
  const problem = enrollmentProblem(journey, request.facts ?? {});
  if (problem) throw new CarebellError('EventRejected', problem);
  const episode = deps.cipher.blindIndex('episode', clinicId, `${journey.key}|${request.occurrence}`);
  const workflowId = journeyWorkflowId({ clinicId, patientId, key: journey.key, episode });
  const id = randomUUID();
  const details = request.details && Object.keys(request.details).length > 0 ? request.details : null;
  const { timeZone } = request;
  const opening =
    timeZone === undefined
      ? undefined
      : planOpeningWait(journey, {
          facts: request.facts ?? {},
          anchorDate: request.anchorDate,
          timeZone,
          from: Date.now(),
        });
  const claimed = await claimEnrollment(tx, {
    id,
    detailsEnc: details && encryptEnrollmentDetails(deps.cipher, clinicId, id, details),
    clinicId,
    patientId,
    journeyKey: journey.key,
    journeyVersion: journey.version,
    category: journey.category,
    episode,
    subject: request.subject === undefined ? null : subjectIndex(deps.cipher, clinicId, request.subject),
    workflowId,
    variants: variantsOf(journey, patientId),
    // The journey's next planned send, as the opening wait's planning would have written it.
    nextSendAt: opening?.plannedSend ?? null,
  });
  const audits: AuditEntry[] =
    details && claimed.created
      ? [
          {
            actor: 'enroll',
            clinicId,
            action: 'enrollment.details.write',
            objectType: 'enrollment',
            objectId: id,
            outcome: 'success',
          },
        ]
      : [];
  const definition =
    claimed.enrollment.journeyVersion === journey.version
      ? journey
      : await pinnedVersion(tx, clinicId, journey.key, claimed.enrollment.journeyVersion);
  return {
    enrollmentId: claimed.enrollment.id,
    journey: journey.key,
    version: claimed.enrollment.journeyVersion,
    workflowId,
    created: claimed.created,
    episode,
    definition,
    audits,
    // A claim found (a repeat, or a retry after a crash before the start) leaves the planning to the journey.
    firstWait: claimed.created ? opening?.firstWait : undefined,
  };
}

/** Starts (or finds) the workflow of an enrollment claimed and committed. */
export async function startClaimed(
  deps: EnrollmentDeps,
  request: EnrollRequest,
  claimed: ClaimedEnrollment,
  options: { signal?: AbortSignal } = {},
): Promise<Enrolled> {
  const { signal } = options;
  const start = () =>
    startJourney(deps.client, deps.taskQueue, {
      clinicId: request.clinicId,
      patientId: request.patientId,
      episode: claimed.episode,
      definition: claimed.definition,
      anchorDate: request.anchorDate,
      facts: request.facts,
      firstWait: claimed.firstWait,
    });
  await (signal ? deps.client.withAbortSignal(signal, start) : start());
  const { enrollmentId, journey, version, workflowId, created } = claimed;
  return { enrollmentId, journey, version, workflowId, created };
}

/** `signal`: the caller's cancellation (a sweep activity's), passed on to PostgreSQL and Temporal. */
export async function enroll(
  deps: EnrollmentDeps,
  request: EnrollRequest,
  options: { signal?: AbortSignal } = {},
): Promise<Enrolled> {
  const problem = enrollmentProblem(request.journey, request.facts ?? {});
  if (problem) throw new CarebellError('EventRejected', problem);
  const claimed = await withClinic(
    deps.db,
    request.clinicId,
    async (tx) => {
      const timeZone =
        request.timeZone ?? (await getPatientSettings(tx, request.clinicId, request.patientId))?.timeZone;
      const claim = await claimEnrollmentIn(tx, deps, { ...request, timeZone });
      await appendAudits(tx, claim.audits);
      return claim;
    },
    options,
  );
  return startClaimed(deps, request, claimed, options);
}
