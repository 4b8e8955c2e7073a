// Dispenses start refill journeys; a stopped prescription ends them. A dispense alone does not say how
// many refills are left, so the MedicationRequest that authorised it must travel in the same bundle.
import { eventCommand, invalid, notActedOn, skipped, statusOf, type FhirCommand } from './commands';
import { findResource, resolvePatient, type BundleIndex } from './references';
import {
  addDays,
  bool,
  codings,
  datePart,
  field,
  numeric,
  objects,
  resourceKey,
  text,
  type JsonObject,
} from './values';

const REQUEST = 'MedicationRequest';
const DISPENSE = 'MedicationDispense';
const REQUEST_STATUSES = [
  'active',
  'on-hold',
  'cancelled',
  'completed',
  'entered-in-error',
  'stopped',
  'draft',
  'unknown',
] as const;
const DISPENSE_STATUSES = [
  'preparation',
  'in-progress',
  'cancelled',
  'on-hold',
  'completed',
  'entered-in-error',
  'stopped',
  'declined',
  'unknown',
] as const;
const ENDED = ['stopped', 'cancelled', 'entered-in-error'];
const DAYS_PER_UNIT: Record<string, number> = {
  d: 1,
  day: 1,
  days: 1,
  wk: 7,
  week: 7,
  weeks: 7,
  mo: 30,
  month: 30,
  months: 30,
};
const MAX_SUPPLY_DAYS = 3660;

export function mapMedicationRequest(request: JsonObject, index: BundleIndex): FhirCommand {
  const checked = statusOf(request, REQUEST, REQUEST_STATUSES);
  if ('command' in checked) return checked.command;
  const { status } = checked;
  if (status === 'active') return skipped(REQUEST, 'context for dispenses');
  if (!ENDED.includes(status)) return notActedOn(REQUEST, status, `active, ${ENDED.join(', ')}`);
  const patient = resolvePatient(index, field(request, 'subject'), `${REQUEST}.subject`);
  if ('problem' in patient) return invalid(REQUEST, patient.problem);
  const prescription = resourceKey(request);
  if (prescription === undefined)
    return invalid(REQUEST, `${REQUEST}.id: is required (the refill journeys it ends are about it)`);
  return eventCommand(REQUEST, {
    type: 'medication.discontinued',
    patient: { ehrId: patient.mrn },
    subject: prescription,
    eventId: `${prescription}|${status}`,
  });
}

/** Days supplied, from a Quantity in days, weeks or months (UCUM `d`, `wk`, `mo`, or spelled out). */
function supplyDays(quantity: unknown): number | string {
  if (quantity === undefined)
    return `${DISPENSE}.daysSupply: is required (the refill is due when it runs out)`;
  const value = numeric(quantity, 'value');
  const unit = (text(quantity, 'code') ?? text(quantity, 'unit') ?? 'd').toLowerCase();
  const perUnit = DAYS_PER_UNIT[unit];
  const days = value === undefined || perUnit === undefined ? undefined : Math.round(value * perUnit);
  if (days === undefined || days < 1 || days > MAX_SUPPLY_DAYS)
    return `${DISPENSE}.daysSupply: must be a quantity in days, weeks or months, from 1 day to 10 years`;
  return days;
}

/** The authorising MedicationRequest, when it is in the same bundle. */
function authorisingRequest(dispense: JsonObject, index: BundleIndex): JsonObject | undefined {
  for (const authorizing of objects(dispense, 'authorizingPrescription')) {
    const reference = text(authorizing, 'reference');
    const found = reference === undefined ? undefined : findResource(index, reference);
    if (found && text(found, 'resourceType') === REQUEST) return found;
  }
  return undefined;
}

/** What the refill journey is about: the prescription, so that a later stop of it ends the journey. */
function prescriptionOf(dispense: JsonObject, request: JsonObject | undefined): string | undefined {
  const authorizing = objects(dispense, 'authorizingPrescription')[0];
  const referenceId = text(authorizing, 'reference')?.match(/^MedicationRequest\/([^/]+)$/)?.[1];
  const medication = codings(field(dispense, 'medicationCodeableConcept')).find((coding) => coding.code);
  return (
    (request && resourceKey(request)) ??
    referenceId ??
    text(field(authorizing, 'identifier'), 'value') ??
    (medication && [medication.system, medication.code].filter(Boolean).join('|')) ??
    text(field(dispense, 'medicationReference'), 'reference')
  );
}

const takenAsNeeded = (resource: JsonObject | undefined) =>
  objects(resource, 'dosageInstruction').some(
    (dosage) =>
      bool(dosage, 'asNeededBoolean') === true || field(dosage, 'asNeededCodeableConcept') !== undefined,
  );

function refillsRemaining(request: JsonObject | undefined): number | string {
  const needed = `${DISPENSE}: refillsRemaining needs ${REQUEST}.dispenseRequest.numberOfRepeatsAllowed`;
  if (!request) return `${needed}; send the authorizingPrescription's ${REQUEST} in the same bundle`;
  const repeats = numeric(field(request, 'dispenseRequest'), 'numberOfRepeatsAllowed');
  if (repeats === undefined) return `${needed}, which its ${REQUEST} does not give`;
  if (!Number.isInteger(repeats) || repeats < 0 || repeats > 999)
    return `${REQUEST}.dispenseRequest.numberOfRepeatsAllowed: must be a whole number from 0 to 999`;
  return repeats;
}

export function mapMedicationDispense(dispense: JsonObject, index: BundleIndex): FhirCommand {
  const checked = statusOf(dispense, DISPENSE, DISPENSE_STATUSES);
  if ('command' in checked) return checked.command;
  if (checked.status !== 'completed') return notActedOn(DISPENSE, checked.status, 'completed');
  const patient = resolvePatient(index, field(dispense, 'subject'), `${DISPENSE}.subject`);
  if ('problem' in patient) return invalid(DISPENSE, patient.problem);

  const handedOverAt = text(dispense, 'whenHandedOver');
  const preparedAt = text(dispense, 'whenPrepared');
  const written = handedOverAt ?? preparedAt;
  const occurredOn = datePart(written);
  if (written === undefined)
    return invalid(DISPENSE, `${DISPENSE}.whenHandedOver: is required (the supply counts from it)`);
  if (occurredOn === undefined) {
    const which = handedOverAt === undefined ? 'whenPrepared' : 'whenHandedOver';
    return invalid(DISPENSE, `${DISPENSE}.${which}: must be a date-time`);
  }
  const days = supplyDays(field(dispense, 'daysSupply'));
  if (typeof days === 'string') return invalid(DISPENSE, days);
  const request = authorisingRequest(dispense, index);
  const refills = refillsRemaining(request);
  if (typeof refills === 'string') return invalid(DISPENSE, refills);

  const facts: Record<string, string> = { daysSupply: String(days), refillsRemaining: String(refills) };
  if (takenAsNeeded(request) || takenAsNeeded(dispense)) facts.asNeeded = 'true';
  return eventCommand(DISPENSE, {
    type: 'medication.dispensed',
    patient: { ehrId: patient.mrn },
    eventId: resourceKey(dispense),
    subject: prescriptionOf(dispense, request),
    occurredOn,
    anchorDate: addDays(occurredOn, days),
    facts,
  });
}
