// A clinic or an EHR telling carebell about a patient (the API, a FHIR Patient, a CSV row): created or
// updated by the clinic's id for them, consents appended with their evidence. Running journeys hear of a
// change that matters to them at once, so a send never goes out on yesterday's preferences.
import { WorkflowNotFoundError } from '@temporalio/client';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import { getClinic } from '../db/queries/clinics';
import { recordConsent } from '../db/queries/consents';
import { activeEnrollments, endEnrollment } from '../db/queries/enrollments';
import {
  findPatientIdByExternalId,
  getPatient,
  getPatientSettings,
  insertPatient,
  updatePatient,
  type Contact,
} from '../db/queries/patients';
import type { Clinic } from '../db/schema';
import { withClinic, type Transaction } from '../db/tenant';
import { CarebellError } from '../domain/errors';
import { cancelSignal, optedOutSignal, preferencesChangedSignal } from '../domain/journey';
import type { Channel, PatientStatus } from '../domain/messaging';
import type { ConsentInput, PatientInput } from '../domain/patient-input';
import { InvalidField } from '../domain/errors';
import { settingsOf } from '../journeys/clinic-settings';
import type { EnrollmentDeps } from './enroll';

export interface PatientUpsert {
  id: string;
  created: boolean;
}

/** E.164 for a number as a record wrote it, read in the clinic's region when it has no country code. */
export function normalisePhone(number: string, region: string): string | undefined {
  const parsed = parsePhoneNumberFromString(number, region as CountryCode);
  return parsed?.isValid() ? parsed.number : undefined;
}

/** The contact points carebell may use, in order: mobile numbers (for SMS), then email addresses. */
function contactsOf(input: PatientInput, clinic: Clinic): Contact[] {
  const phones = input.phones.map((phone, index) => {
    const e164 = normalisePhone(phone.number, clinic.phoneRegion);
    if (!e164)
      throw new InvalidField(
        `phones.${index}.number`,
        `is not a valid phone number (read in region ${clinic.phoneRegion} when it has no country code)`,
      );
    return { ...phone, e164 };
  });
  return [
    ...phones
      .filter((phone) => phone.use === 'mobile')
      .map((phone) => ({ channel: 'sms' as const, address: phone.e164 })),
    ...input.emails.map((email) => ({ channel: 'email' as const, address: email })),
  ].filter(
    (contact, index, all) =>
      all.findIndex((other) => other.channel === contact.channel && other.address === contact.address) ===
      index,
  );
}

/**
 * Creates the patient the clinic knows by `input.externalId`, or replaces what carebell knows of them.
 * Inside the caller's transaction when given one (an import applies many), otherwise in its own.
 * Returns the journeys to tell afterwards (after commit: a signal cannot be rolled back).
 */
export async function upsertPatientIn(
  tx: Transaction,
  deps: Pick<EnrollmentDeps, 'cipher'>,
  clinicId: string,
  input: PatientInput,
  actor: string,
): Promise<PatientUpsert & { notify?: 'preferences' | 'stopped' }> {
  const clinic = await getClinic(tx, clinicId);
  if (!clinic) throw new CarebellError('PatientNotFound', 'no such clinic');
  const contacts = contactsOf(input, clinic);
  const profile = {
    name: input.name,
    dateOfBirth: input.dateOfBirth,
    sexAtBirth: input.sexAtBirth,
    postalAddress: input.postalAddress,
    language: input.language ?? settingsOf(clinic.settings).defaultLanguage,
    timeZone: input.timeZone ?? clinic.timeZone,
    preferredChannel:
      input.preferredChannel ?? (contacts.some((contact) => contact.channel === 'sms') ? 'sms' : 'email'),
    status: input.status,
  } as const;
  const existing = await findPatientIdByExternalId(tx, deps.cipher, actor, clinicId, input.externalId);
  if (!existing) {
    const id = await insertPatient(
      tx,
      deps.cipher,
      actor,
      clinicId,
      { ...profile, externalId: input.externalId },
      contacts,
    );
    return { id, created: true };
  }
  const { preferencesChanged } = await updatePatient(
    tx,
    deps.cipher,
    actor,
    clinicId,
    existing,
    profile,
    contacts,
  );
  return {
    id: existing,
    created: false,
    notify: input.status !== 'active' ? 'stopped' : preferencesChanged ? 'preferences' : undefined,
  };
}

export async function upsertPatient(
  deps: EnrollmentDeps,
  clinicId: string,
  input: PatientInput,
  actor: string,
): Promise<PatientUpsert> {
  const { notify, ...upserted } = await withClinic(deps.db, clinicId, (tx) =>
    upsertPatientIn(tx, deps, clinicId, input, actor),
  );
  if (notify) await notifyJourneys(deps, clinicId, upserted.id, notify);
  return upserted;
}

/** Changes a patient's preferences or status, keeping the rest of what is known. */
export async function updatePatientPreferences(
  deps: EnrollmentDeps,
  clinicId: string,
  patientId: string,
  change: { language?: string; timeZone?: string; preferredChannel?: Channel; status?: PatientStatus },
  actor: string,
): Promise<void> {
  const notify = await withClinic(deps.db, clinicId, async (tx) => {
    const patient = await getPatient(tx, deps.cipher, actor, clinicId, patientId);
    if (!patient) throw new CarebellError('PatientNotFound');
    const { preferencesChanged } = await updatePatient(
      tx,
      deps.cipher,
      actor,
      clinicId,
      patientId,
      { ...patient, ...change },
      patient.contacts,
    );
    if ((change.status ?? 'active') !== 'active') return 'stopped' as const;
    return preferencesChanged ? ('preferences' as const) : undefined;
  });
  if (notify) await notifyJourneys(deps, clinicId, patientId, notify);
}

/**
 * Appends a consent decision. A revocation reaches the patient's running journeys at once: marketing
 * journeys end, the others re-read consent on their next send anyway.
 */
export async function recordPatientConsent(
  deps: EnrollmentDeps,
  clinicId: string,
  patientId: string,
  consent: ConsentInput,
  actor: string,
): Promise<void> {
  await withClinic(deps.db, clinicId, (tx) => recordConsentIn(tx, deps, clinicId, patientId, consent, actor));
  if (!consent.granted) await notifyJourneys(deps, clinicId, patientId, consent.channel);
}

export async function recordConsentIn(
  tx: Transaction,
  deps: Pick<EnrollmentDeps, 'cipher'>,
  clinicId: string,
  patientId: string,
  consent: ConsentInput,
  actor: string,
): Promise<void> {
  if (!(await getPatientSettings(tx, clinicId, patientId))) throw new CarebellError('PatientNotFound');
  await recordConsent(tx, deps.cipher, {
    clinicId,
    patientId,
    channel: consent.channel,
    category: consent.category,
    granted: consent.granted,
    source: consent.evidence.source,
    recordedAt: consent.evidence.at === undefined ? undefined : new Date(consent.evidence.at),
    actor,
    evidence: JSON.stringify({
      method: consent.evidence.method,
      disclosureVersion: consent.evidence.disclosureVersion,
    }),
  });
}

/**
 * Tells the patient's running journeys: preferences changed (re-plan with the new zone and channel),
 * the patient is no longer active (their journeys end), or consent on a channel was revoked.
 */
export async function notifyJourneys(
  deps: Pick<EnrollmentDeps, 'db' | 'client'>,
  clinicId: string,
  patientId: string,
  what: 'preferences' | 'stopped' | Channel,
): Promise<void> {
  const running = await withClinic(deps.db, clinicId, (tx) => activeEnrollments(tx, clinicId, patientId));
  for (const enrollment of running) {
    const handle = deps.client.workflow.getHandle(enrollment.workflowId);
    try {
      if (what === 'preferences') await handle.signal(preferencesChangedSignal);
      else if (what === 'stopped') await handle.signal(cancelSignal);
      else await handle.signal(optedOutSignal, what);
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      await withClinic(deps.db, clinicId, (tx) =>
        endEnrollment(tx, clinicId, enrollment.workflowId, 'terminated'),
      );
    }
  }
}
