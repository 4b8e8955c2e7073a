// What one bundle entry asks of carebell, in the words of the engine's own inputs. The HTTP layer applies
// them in order and answers per entry; nothing here touches a database.
import type { ConsentInput, PatientInput } from '../domain/patient-input';
import { careEventProblem } from '../journeys/care';
import { clinicEvent, type ClinicEvent } from '../journeys/events';
import { text, type JsonObject } from './values';

export type FhirCommand =
  | { kind: 'patient'; patient: PatientInput }
  | { kind: 'event'; event: ClinicEvent }
  | { kind: 'consent'; patientEhrId: string; consent: ConsentInput }
  /** A resource type or status carebell does not act on: counted, not an error. */
  | { kind: 'skipped'; resourceType: string; reason: string }
  /** A bad entry; the problem names fields, never a value that could be PHI. */
  | { kind: 'invalid'; resourceType?: string; problem: string };

export const invalid = (resourceType: string, problem: string): FhirCommand => ({
  kind: 'invalid',
  resourceType,
  problem,
});

export const skipped = (resourceType: string, reason: string): FhirCommand => ({
  kind: 'skipped',
  resourceType,
  reason,
});

/** The event as the engine will check it, so a bad one is refused here, per entry, not when applied. */
export function eventCommand(resourceType: string, event: ClinicEvent): FhirCommand {
  const given = Object.fromEntries(Object.entries(event).filter(([, value]) => value !== undefined));
  const parsed = clinicEvent.safeParse(given);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `event.${issue.path.join('.')}: ${issue.message}`);
    return invalid(resourceType, `${resourceType}: ${issues.join('; ')}`);
  }
  const problem = careEventProblem(parsed.data);
  return problem
    ? invalid(resourceType, `${resourceType}: ${problem}`)
    : { kind: 'event', event: parsed.data };
}

/**
 * The resource's status when it is one FHIR defines for the type; a missing or unknown one is a bad entry,
 * named without repeating what was sent.
 */
export function statusOf(
  resource: JsonObject,
  resourceType: string,
  known: readonly string[],
): { status: string } | { command: FhirCommand } {
  const status = text(resource, 'status');
  if (status === undefined) return { command: invalid(resourceType, `${resourceType}.status: is required`) };
  if (!known.includes(status))
    return { command: invalid(resourceType, `${resourceType}.status: is not a ${resourceType} status`) };
  return { status };
}

export const notActedOn = (resourceType: string, status: string, actedOn: string): FhirCommand =>
  skipped(resourceType, `status ${status} is not acted on (only ${actedOn})`);
