// A FHIR Patient (US Core) as the patient input every door shares. Phone numbers stay as written: they
// are normalised with the clinic's region when the input is applied.
import type { z } from 'zod';
import { patientInput, type PatientInput } from '../domain/patient-input';
import { normaliseSexAtBirth } from '../domain/patient';
import {
  bool,
  codings,
  field,
  numeric,
  objects,
  periodEnded,
  strings,
  text,
  type JsonObject,
} from './values';

const IDENTIFIER_TYPES = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const US_SSN = 'http://hl7.org/fhir/sid/us-ssn';
const BIRTH_SEX = 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex';
const TIME_ZONE = 'http://hl7.org/fhir/StructureDefinition/timezone';
const MAX_CONTACTS = 10;

const typeCodes = (identifier: JsonObject) =>
  codings(field(identifier, 'type'))
    .filter((coding) => coding.system === undefined || coding.system === IDENTIFIER_TYPES)
    .map((coding) => coding.code);

/**
 * The MRN: the identifier typed MR, else the usual or official one, else the first. Identifiers that are
 * not the clinic's (SSN, driver's licence, passport) never key a patient, even when listed first.
 */
export function mrnOf(patient: JsonObject): string | undefined {
  const candidates = objects(patient, 'identifier').filter(
    (identifier) =>
      text(identifier, 'value') !== undefined &&
      text(identifier, 'use') !== 'old' &&
      text(identifier, 'system') !== US_SSN &&
      !typeCodes(identifier).some((code) => code === 'SS' || code === 'DL' || code === 'PPN'),
  );
  const use = (identifier: JsonObject) => text(identifier, 'use');
  const chosen =
    candidates.find((identifier) => typeCodes(identifier).includes('MR')) ??
    candidates.find((identifier) => use(identifier) === 'usual') ??
    candidates.find((identifier) => use(identifier) === 'official') ??
    candidates[0];
  return chosen && text(chosen, 'value');
}

function nameOf(patient: JsonObject, today: string): string | undefined {
  const names = objects(patient, 'name').filter(
    (name) => !['old', 'maiden'].includes(text(name, 'use') ?? '') && !periodEnded(name, today),
  );
  const chosen =
    names.find((name) => text(name, 'use') === 'official') ??
    names.find((name) => text(name, 'use') === 'usual') ??
    names[0];
  if (!chosen) return undefined;
  const parts = [...strings(chosen, 'given'), text(chosen, 'family')].filter(Boolean);
  return text(chosen, 'text') ?? (parts.length > 0 ? parts.join(' ') : undefined);
}

const extensionCode = (resource: JsonObject, url: string) =>
  text(
    objects(resource, 'extension').find((extension) => text(extension, 'url') === url),
    'valueCode',
  );

/** Sex at birth: US Core's birthsex extension when present (it is what the field means), else gender. */
function sexAtBirthOf(patient: JsonObject): { value?: PatientInput['sexAtBirth'] } | { problem: string } {
  const birthSex = normaliseSexAtBirth(extensionCode(patient, BIRTH_SEX));
  if (birthSex) return { value: birthSex };
  const gender = field(patient, 'gender');
  if (gender === undefined || gender === null) return {};
  if (gender === 'female' || gender === 'male' || gender === 'unknown') return { value: gender };
  if (gender === 'other') return { value: 'unknown' };
  return { problem: 'Patient.gender: must be male, female, other or unknown' };
}

/** Usable contact points, most preferred first: by rank (1 is highest; unranked last), then as listed. */
function contactPoints(patient: JsonObject, today: string) {
  return objects(patient, 'telecom')
    .map((point, position) => ({ point, position, rank: numeric(point, 'rank') ?? Infinity }))
    .filter(({ point }) => text(point, 'value') && text(point, 'use') !== 'old' && !periodEnded(point, today))
    .sort((a, b) => (a.rank === b.rank ? a.position - b.position : a.rank < b.rank ? -1 : 1))
    .map(({ point }) => point);
}

function phonesOf(points: JsonObject[]): { number: string; use?: 'mobile' | 'home' | 'work' }[] {
  return points.flatMap((point) => {
    const system = text(point, 'system');
    const number = text(point, 'value')!;
    const use = text(point, 'use');
    if (system === 'sms') return [{ number, use: 'mobile' as const }];
    if (system !== 'phone') return [];
    // No use (or `temp`): the shared input's default, mobile.
    return [use === 'mobile' || use === 'home' || use === 'work' ? { number, use } : { number }];
  });
}

function languageOf(patient: JsonObject): string | undefined {
  const communications = objects(patient, 'communication');
  const chosen =
    communications.find((communication) => bool(communication, 'preferred') === true) ?? communications[0];
  return codings(field(chosen, 'language'))
    .map((coding) => coding.code)
    .find(Boolean);
}

function addressOf(patient: JsonObject, today: string): string | undefined {
  const addresses = objects(patient, 'address').filter(
    (address) => text(address, 'use') !== 'old' && !periodEnded(address, today),
  );
  const chosen = addresses.find((address) => text(address, 'use') === 'home') ?? addresses[0];
  if (!chosen) return undefined;
  const region = [text(chosen, 'state'), text(chosen, 'postalCode')].filter(Boolean).join(' ');
  const parts = [...strings(chosen, 'line'), text(chosen, 'city'), region, text(chosen, 'country')];
  return text(chosen, 'text') ?? (parts.filter(Boolean).join(', ') || undefined);
}

function patientStatus(patient: JsonObject): PatientInput['status'] {
  if (bool(patient, 'deceasedBoolean') === true || text(patient, 'deceasedDateTime') !== undefined)
    return 'deceased';
  return bool(patient, 'active') === false ? 'inactive' : 'active';
}

const FHIR_FIELDS: Record<string, string> = {
  externalId: 'Patient.identifier',
  name: 'Patient.name',
  dateOfBirth: 'Patient.birthDate',
  sexAtBirth: 'Patient.gender',
  language: 'Patient.communication.language',
  timeZone: 'Patient.extension(timezone)',
  phones: 'Patient.telecom',
  emails: 'Patient.telecom',
  postalAddress: 'Patient.address',
  status: 'Patient.active',
};

/** Where a problem with the shared input is in the FHIR resource; zod's messages never carry the value. */
function describeIssue(issue: z.core.$ZodIssue, candidate: Record<string, unknown>): string {
  const [key, position] = issue.path;
  const fhirField = FHIR_FIELDS[String(key)] ?? 'Patient';
  const which =
    typeof position === 'number' ? ` (${key === 'phones' ? 'phone' : 'email'} ${position + 1})` : '';
  const missing = issue.code === 'invalid_type' && candidate[String(key)] === undefined;
  return `${fhirField}${which}: ${missing ? 'is required' : issue.message}`;
}

export function mapPatient(
  patient: JsonObject,
  today: string,
): { patient: PatientInput } | { problem: string } {
  const externalId = mrnOf(patient);
  if (externalId === undefined)
    return { problem: 'Patient.identifier: has no identifier (an MRN) to know the patient by' };
  const sex = sexAtBirthOf(patient);
  if ('problem' in sex) return sex;
  const points = contactPoints(patient, today);
  const candidate: Record<string, unknown> = {
    externalId,
    name: nameOf(patient, today),
    dateOfBirth: text(patient, 'birthDate'),
    sexAtBirth: sex.value,
    language: languageOf(patient),
    timeZone: extensionCode(patient, TIME_ZONE),
    phones: phonesOf(points).slice(0, MAX_CONTACTS),
    emails: points
      .filter((point) => text(point, 'system') === 'email')
      .map((point) => text(point, 'value'))
      .slice(0, MAX_CONTACTS),
    postalAddress: addressOf(patient, today),
    status: patientStatus(patient),
  };
  // Absent fields are left out, so the shared input's defaults apply and a missing required one says so.
  for (const key of Object.keys(candidate)) if (candidate[key] === undefined) delete candidate[key];
  const parsed = patientInput.safeParse(candidate);
  if (parsed.success) return { patient: parsed.data };
  return { problem: parsed.error.issues.map((issue) => describeIssue(issue, candidate)).join('; ') };
}
