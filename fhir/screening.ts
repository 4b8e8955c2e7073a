// Screenings done or declined, recognised by the same codes and names as the screening rules
// (journeys/screening-rules.json: CPT, HCPCS and SNOMED CT codes and common names). A completed procedure
// that ends programs (a hysterectomy, a colectomy) is recorded as an exclusion.
import { classifyScreening, programsEndedBy } from '../journeys/screening';
import { eventCommand, invalid, notActedOn, skipped, statusOf, type FhirCommand } from './commands';
import { resolvePatient, type BundleIndex } from './references';
import { codings, datePart, field, resourceKey, text, type JsonObject } from './values';

const PROCEDURE_STATUSES = [
  'preparation',
  'in-progress',
  'not-done',
  'on-hold',
  'stopped',
  'completed',
  'entered-in-error',
  'unknown',
] as const;
const OBSERVATION_STATUSES = [
  'registered',
  'preliminary',
  'final',
  'amended',
  'corrected',
  'cancelled',
  'entered-in-error',
  'unknown',
] as const;
const OBSERVATION_DONE = ['final', 'amended', 'corrected'];

/** Codes first (as the rules list them), then the concept's text and displays as names. */
function termsOf(concept: unknown): string[] {
  const found = codings(concept);
  return [
    ...found.map((coding) => coding.code),
    text(concept, 'text'),
    ...found.map((coding) => coding.display),
  ].filter((term): term is string => term !== undefined);
}

const screeningTerm = (concept: unknown) => termsOf(concept).find((term) => classifyScreening(term));
const exclusionTerm = (concept: unknown) => termsOf(concept).find((term) => programsEndedBy(term).length > 0);

/** The day, from the first of the date fields that is given; a given but broken one is a problem. */
function dayOf(
  resourceType: string,
  fields: [name: string, value: string | undefined][],
): { day: string } | { problem: string } {
  const given = fields.find(([, value]) => value !== undefined);
  if (!given) return { problem: `${resourceType}.${fields[0]![0]}: is required (the day it was done)` };
  const day = datePart(given[1]);
  return day ? { day } : { problem: `${resourceType}.${given[0]}: must be a date or date-time` };
}

function screeningEvent(
  resourceType: string,
  resource: JsonObject,
  index: BundleIndex,
  type: string,
  subject: string,
  day: { day: string } | { problem: string },
): FhirCommand {
  const patient = resolvePatient(index, field(resource, 'subject'), `${resourceType}.subject`);
  if ('problem' in patient) return invalid(resourceType, patient.problem);
  if ('problem' in day) return invalid(resourceType, day.problem);
  const id = resourceKey(resource);
  return eventCommand(resourceType, {
    type,
    patient: { ehrId: patient.mrn },
    eventId: id === undefined ? undefined : `${resourceType}/${id}`,
    subject,
    occurredOn: day.day,
  });
}

export function mapProcedure(procedure: JsonObject, index: BundleIndex): FhirCommand {
  const checked = statusOf(procedure, 'Procedure', PROCEDURE_STATUSES);
  if ('command' in checked) return checked.command;
  const { status } = checked;
  if (status !== 'completed' && status !== 'not-done')
    return notActedOn('Procedure', status, 'completed, not-done');
  const code = field(procedure, 'code');
  const period = field(procedure, 'performedPeriod');
  const performed = dayOf('Procedure', [
    ['performedDateTime', text(procedure, 'performedDateTime')],
    ['performedPeriod.start', text(period, 'start')],
    ['performedPeriod.end', text(period, 'end')],
  ]);
  const screening = screeningTerm(code);
  if (screening !== undefined) {
    // A procedure not done is rarely given a performed date; the day it was recorded is when it was declined.
    const recordedAt = text(field(procedure, 'meta'), 'lastUpdated');
    const declinedOn =
      'problem' in performed && recordedAt !== undefined
        ? dayOf('Procedure', [['meta.lastUpdated', recordedAt]])
        : performed;
    return status === 'completed'
      ? screeningEvent('Procedure', procedure, index, 'screening.completed', screening, performed)
      : screeningEvent('Procedure', procedure, index, 'screening.declined', screening, declinedOn);
  }
  const exclusion = status === 'completed' ? exclusionTerm(code) : undefined;
  if (exclusion !== undefined)
    return screeningEvent('Procedure', procedure, index, 'screening.excluded', exclusion, performed);
  return skipped('Procedure', 'not a screening code');
}

export function mapObservation(observation: JsonObject, index: BundleIndex): FhirCommand {
  const checked = statusOf(observation, 'Observation', OBSERVATION_STATUSES);
  if ('command' in checked) return checked.command;
  if (!OBSERVATION_DONE.includes(checked.status))
    return notActedOn('Observation', checked.status, OBSERVATION_DONE.join(', '));
  const screening = screeningTerm(field(observation, 'code'));
  if (screening === undefined) return skipped('Observation', 'not a screening code');
  const effective = dayOf('Observation', [
    ['effectiveDateTime', text(observation, 'effectiveDateTime')],
    ['effectivePeriod.start', text(field(observation, 'effectivePeriod'), 'start')],
    ['effectiveInstant', text(observation, 'effectiveInstant')],
    ['issued', text(observation, 'issued')],
  ]);
  return screeningEvent('Observation', observation, index, 'screening.completed', screening, effective);
}
