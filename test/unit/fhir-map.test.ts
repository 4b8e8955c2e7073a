// The FHIR R4 mapping against US Core-like resources: each resource type, references between entries,
// the order commands come out in, per-entry problems that never repeat PHI, and a 2,000-entry transaction.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isValidPhoneNumber } from 'libphonenumber-js';
import { excludedByTrigger } from '../../domain/facts';
import { builtInJourneys } from '../../journeys/built-in';
import { careEventProblem } from '../../journeys/care';
import { clinicEvent, type ClinicEvent } from '../../journeys/events';
import { factsProblem } from '../../journeys/facts';
import { CONTACT_CONSENT_SYSTEM } from '../../fhir/consent';
import { mapFhirInput, type FhirCommand, type MappedEntry } from '../../fhir/map-bundle';
import { sampleTransactionBundle } from '../../fhir/sample-bundle';

const now = new Date('2026-11-28T12:00:00Z');
const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const PATIENT_URL = 'urn:uuid:6f1c1c3e-3c4e-4a57-9f0e-7d1c2f6c8a01';

type Resource = Record<string, unknown>;

const usCorePatient = (overrides: Resource = {}): Resource => ({
  resourceType: 'Patient',
  id: 'pat-1',
  identifier: [
    { system: 'http://hl7.org/fhir/sid/us-ssn', value: '999-12-3456' },
    {
      use: 'usual',
      type: { coding: [{ system: V2_0203, code: 'MR', display: 'Medical record number' }] },
      system: 'urn:oid:2.16.840.1.113883.19.5',
      value: 'MRN-0042',
    },
  ],
  active: true,
  name: [
    { use: 'nickname', given: ['Evie'] },
    { use: 'official', family: 'Okafor', given: ['Evelyn', 'Ada'] },
  ],
  telecom: [
    { system: 'phone', value: '(415) 555-0123', use: 'home', rank: 2 },
    { system: 'phone', value: '555-807-7943', use: 'mobile', rank: 1 },
    { system: 'fax', value: '212-555-0147' },
    { system: 'email', value: 'evelyn.okafor@example.org' },
    { system: 'phone', value: '201-555-0100', use: 'old' },
    { system: 'phone', value: '201-555-0101', use: 'work', period: { end: '2020-01-01' } },
  ],
  gender: 'female',
  birthDate: '1961-07-04',
  address: [
    { use: 'old', line: ['1 Old Rd'], city: 'Elsewhere', state: 'CA', postalCode: '90001' },
    { use: 'home', line: ['49 Meadow St', 'Apt 3'], city: 'Springfield', state: 'IL', postalCode: '62701' },
  ],
  communication: [
    { language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'en' }] } },
    { language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'es-mx' }] }, preferred: true },
  ],
  ...overrides,
});

const bundle = (
  resources: (Resource | { fullUrl?: string; resource?: unknown; request?: unknown } | null)[],
  type = 'transaction',
) => ({
  resourceType: 'Bundle',
  type,
  entry: resources.map((item) => (item && 'resourceType' in item ? { resource: item } : item)),
});

const patientEntry = (overrides: Resource = {}) => ({
  fullUrl: PATIENT_URL,
  resource: usCorePatient(overrides),
});

function mapped(body: unknown): MappedEntry[] {
  const result = mapFhirInput(body, { now });
  assert.ok(result.ok, result.ok ? '' : result.problem);
  return result.entries;
}

/** The command made of the entry at `index` of the input. */
const commandAt = (body: unknown, index: number): FhirCommand => {
  const found = mapped(body).find((entry) => entry.index === index);
  assert.ok(found, `no entry ${index}`);
  return found.command;
};

function eventOf(command: FhirCommand): ClinicEvent {
  assert.equal(command.kind, 'event', JSON.stringify(command));
  return (command as { event: ClinicEvent }).event;
}

function problemOf(command: FhirCommand): string {
  assert.equal(command.kind, 'invalid', JSON.stringify(command));
  return (command as { problem: string }).problem;
}

const subject = { reference: PATIENT_URL };

describe('FHIR Patient', () => {
  it('maps a US Core patient to the shared patient input', () => {
    const command = commandAt(bundle([patientEntry()]), 0);
    assert.deepEqual(command, {
      kind: 'patient',
      patient: {
        externalId: 'MRN-0042',
        name: 'Evelyn Ada Okafor',
        dateOfBirth: '1961-07-04',
        sexAtBirth: 'female',
        language: 'es-MX',
        phones: [
          { number: '555-807-7943', use: 'mobile' },
          { number: '(415) 555-0123', use: 'home' },
        ],
        emails: ['evelyn.okafor@example.org'],
        postalAddress: '49 Meadow St, Apt 3, Springfield, IL 62701',
        status: 'active',
      },
    });
  });

  it('keys the patient by MR, else usual or official, else the first; never an SSN', () => {
    const mrnOf = (identifier: unknown) => {
      const command = commandAt(bundle([usCorePatient({ identifier })]), 0);
      return command.kind === 'patient' ? command.patient.externalId : command;
    };
    assert.equal(
      mrnOf([
        { use: 'official', value: 'OFFICIAL-1' },
        { type: { coding: [{ system: V2_0203, code: 'MR' }] }, value: 'MR-1' },
      ]),
      'MR-1',
    );
    assert.equal(mrnOf([{ value: 'FIRST-1' }, { use: 'official', value: 'OFFICIAL-1' }]), 'OFFICIAL-1');
    assert.equal(
      mrnOf([{ system: 'http://hl7.org/fhir/sid/us-ssn', value: '999-12-3456' }, { value: 'X-1' }]),
      'X-1',
    );
    assert.deepEqual(mrnOf([]), {
      kind: 'invalid',
      resourceType: 'Patient',
      problem: 'Patient.identifier: has no identifier (an MRN) to know the patient by',
    });
  });

  it('reads text names, sms as mobile, birth sex, the time zone, and the statuses', () => {
    const command = commandAt(
      bundle([
        usCorePatient({
          name: [{ use: 'usual', text: 'Evie Okafor' }],
          telecom: [
            { system: 'sms', value: '+1 646 555 0111' },
            { system: 'pager', value: '1234' },
            { system: 'url', value: 'https://example.org' },
          ],
          gender: 'other',
          extension: [
            { url: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex', valueCode: 'F' },
            { url: 'http://hl7.org/fhir/StructureDefinition/timezone', valueCode: 'America/Chicago' },
          ],
          communication: undefined,
          address: [{ text: '49 Meadow St, Springfield, IL 62701' }],
          active: false,
        }),
      ]),
      0,
    );
    assert.ok(command.kind === 'patient');
    const { patient } = command;
    assert.equal(patient.name, 'Evie Okafor');
    assert.deepEqual(patient.phones, [{ number: '+1 646 555 0111', use: 'mobile' }]);
    assert.deepEqual(patient.emails, []);
    assert.equal(patient.sexAtBirth, 'female');
    assert.equal(patient.timeZone, 'America/Chicago');
    assert.equal(patient.language, undefined);
    assert.equal(patient.postalAddress, '49 Meadow St, Springfield, IL 62701');
    assert.equal(patient.status, 'inactive');

    const statusOf = (overrides: Resource) => {
      const mappedPatient = commandAt(bundle([usCorePatient(overrides)]), 0);
      return mappedPatient.kind === 'patient'
        ? [mappedPatient.patient.status, mappedPatient.patient.sexAtBirth]
        : [];
    };
    assert.deepEqual(statusOf({ deceasedBoolean: true }), ['deceased', 'female']);
    assert.deepEqual(statusOf({ deceasedDateTime: '2026-01-02', active: false }), ['deceased', 'female']);
    assert.deepEqual(statusOf({ gender: 'other' }), ['active', 'unknown']);
    assert.deepEqual(statusOf({ gender: undefined }), ['active', undefined]);
  });

  it('names the field of a bad patient, never its value', () => {
    const cases: [Resource, string][] = [
      [{ birthDate: '1961-02-30' }, 'Patient.birthDate: must be a date as YYYY-MM-DD'],
      [{ birthDate: '2099-01-01' }, 'Patient.birthDate: must be a real date between 1900 and today'],
      [{ birthDate: undefined }, 'Patient.birthDate: is required'],
      [{ name: [] }, 'Patient.name: is required'],
      [{ gender: 'Evelyn' }, 'Patient.gender: must be male, female, other or unknown'],
      [
        { telecom: [{ system: 'email', value: 'evelyn at example' }] },
        'Patient.telecom (email 1): must be an email address',
      ],
      [
        { communication: [{ language: { coding: [{ code: 'not a language' }] } }] },
        'Patient.communication.language: must be a BCP 47 language tag such as en, es-MX or zh-Hant',
      ],
    ];
    for (const [overrides, problem] of cases) {
      const command = commandAt(bundle([usCorePatient(overrides)]), 0);
      assert.deepEqual(command, { kind: 'invalid', resourceType: 'Patient', problem });
    }
  });
});

const activeRequest = (overrides: Resource = {}): Resource => ({
  resourceType: 'MedicationRequest',
  id: 'rx-553',
  status: 'active',
  intent: 'order',
  medicationCodeableConcept: {
    coding: [
      { system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '314076', display: 'lisinopril 10 MG' },
    ],
  },
  subject,
  dosageInstruction: [{ text: 'Take 1 tablet daily' }],
  dispenseRequest: { numberOfRepeatsAllowed: 3, expectedSupplyDuration: { value: 30, code: 'd' } },
  ...overrides,
});

const dispense = (overrides: Resource = {}): Resource => ({
  resourceType: 'MedicationDispense',
  id: 'disp-9001',
  status: 'completed',
  medicationCodeableConcept: activeRequest().medicationCodeableConcept,
  subject,
  authorizingPrescription: [{ reference: 'MedicationRequest/rx-553' }],
  quantity: { value: 90, system: 'http://unitsofmeasure.org', code: '{tbl}' },
  daysSupply: { value: 90, unit: 'days', system: 'http://unitsofmeasure.org', code: 'd' },
  whenPrepared: '2026-11-01T09:00:00-05:00',
  whenHandedOver: '2026-11-02T16:45:00-05:00',
  ...overrides,
});

describe('FHIR MedicationDispense and MedicationRequest', () => {
  it('starts a refill: due when the supply runs out, with the refills its request allows', () => {
    const event = eventOf(commandAt(bundle([patientEntry(), activeRequest(), dispense()]), 2));
    assert.deepEqual(event, {
      type: 'medication.dispensed',
      patient: { ehrId: 'MRN-0042' },
      eventId: 'disp-9001',
      subject: 'rx-553',
      occurredOn: '2026-11-02',
      anchorDate: '2027-01-31',
      facts: { daysSupply: '90', refillsRemaining: '3' },
    });
    assert.equal(commandAt(bundle([patientEntry(), activeRequest(), dispense()]), 1).kind, 'skipped');
  });

  it('reads weeks and months, whenPrepared, as-needed dosing and numbers written as strings', () => {
    const event = eventOf(
      commandAt(
        bundle([
          patientEntry(),
          activeRequest({
            dosageInstruction: [{ asNeededBoolean: true }],
            dispenseRequest: { numberOfRepeatsAllowed: '0' },
          }),
          dispense({ daysSupply: { value: '4', unit: 'wk' }, whenHandedOver: undefined }),
        ]),
        2,
      ),
    );
    assert.equal(event.occurredOn, '2026-11-01');
    assert.equal(event.anchorDate, '2026-11-29');
    assert.deepEqual(event.facts, { daysSupply: '28', refillsRemaining: '0', asNeeded: 'true' });
    const months = eventOf(
      commandAt(
        bundle([patientEntry(), activeRequest(), dispense({ daysSupply: { value: 3, code: 'mo' } })]),
        2,
      ),
    );
    assert.equal(months.facts?.daysSupply, '90');
  });

  it('refuses a dispense whose refills cannot be known, naming what is missing', () => {
    assert.equal(
      problemOf(commandAt(bundle([patientEntry(), dispense()]), 1)),
      'MedicationDispense: refillsRemaining needs MedicationRequest.dispenseRequest.numberOfRepeatsAllowed; ' +
        "send the authorizingPrescription's MedicationRequest in the same bundle",
    );
    assert.match(
      problemOf(commandAt(bundle([patientEntry(), activeRequest({ dispenseRequest: {} }), dispense()]), 2)),
      /MedicationRequest\.dispenseRequest\.numberOfRepeatsAllowed, which its MedicationRequest does not give/,
    );
    assert.equal(
      problemOf(commandAt(bundle([patientEntry(), activeRequest(), dispense({ daysSupply: undefined })]), 2)),
      'MedicationDispense.daysSupply: is required (the refill is due when it runs out)',
    );
    assert.equal(
      problemOf(
        commandAt(bundle([patientEntry(), activeRequest(), dispense({ whenHandedOver: 'last Tuesday' })]), 2),
      ),
      'MedicationDispense.whenHandedOver: must be a date-time',
    );
  });

  it('skips dispenses not completed, and ends refills when the prescription stops', () => {
    assert.deepEqual(commandAt(bundle([dispense({ status: 'in-progress' })]), 0), {
      kind: 'skipped',
      resourceType: 'MedicationDispense',
      reason: 'status in-progress is not acted on (only completed)',
    });
    for (const status of ['stopped', 'cancelled', 'entered-in-error']) {
      assert.deepEqual(eventOf(commandAt(bundle([patientEntry(), activeRequest({ status })]), 1)), {
        type: 'medication.discontinued',
        patient: { ehrId: 'MRN-0042' },
        subject: 'rx-553',
        eventId: `rx-553|${status}`,
      });
    }
    assert.deepEqual(commandAt(bundle([activeRequest()]), 0), {
      kind: 'skipped',
      resourceType: 'MedicationRequest',
      reason: 'context for dispenses',
    });
    assert.equal(commandAt(bundle([activeRequest({ status: 'completed' })]), 0).kind, 'skipped');
    assert.equal(
      problemOf(commandAt(bundle([activeRequest({ status: 'paused' })]), 0)),
      'MedicationRequest.status: is not a MedicationRequest status',
    );
  });
});

const appointment = (overrides: Resource = {}): Resource => ({
  resourceType: 'Appointment',
  id: 'appt-77',
  status: 'booked',
  serviceType: [{ text: 'Primary care' }],
  start: '2026-12-03T09:30:00-05:00',
  end: '2026-12-03T10:00:00-05:00',
  participant: [
    { actor: { reference: 'Practitioner/dr-1', display: 'Dr. Who' }, status: 'accepted' },
    { actor: subject, status: 'accepted' },
    { actor: { reference: 'Location/clinic-1' }, status: 'accepted' },
  ],
  ...overrides,
});

describe('FHIR Appointment', () => {
  it('books reminders on the local date and time as written', () => {
    const event = eventOf(commandAt(bundle([patientEntry(), appointment()]), 1));
    assert.deepEqual(event, {
      type: 'appointment.booked',
      patient: { ehrId: 'MRN-0042' },
      subject: 'appt-77',
      eventId: 'appt-77|booked|2026-12-03T09:30:00-05:00',
      anchorDate: '2026-12-03',
      facts: { appointmentTime: '09:30' },
    });
    const late = eventOf(
      commandAt(bundle([patientEntry(), appointment({ start: '2026-12-03T23:15:00-08:00' })]), 1),
    );
    assert.deepEqual([late.anchorDate, late.facts?.appointmentTime], ['2026-12-03', '23:15']);
  });

  it('makes a moved appointment a new event, and maps cancelled, noshow and fulfilled', () => {
    const moved = eventOf(
      commandAt(bundle([patientEntry(), appointment({ start: '2026-12-10T14:00:00-05:00' })]), 1),
    );
    assert.equal(moved.eventId, 'appt-77|booked|2026-12-10T14:00:00-05:00');
    assert.equal(moved.subject, 'appt-77');
    const typeOf = (status: string) =>
      eventOf(commandAt(bundle([patientEntry(), appointment({ status })]), 1));
    assert.equal(typeOf('cancelled').type, 'appointment.cancelled');
    assert.equal(typeOf('noshow').type, 'appointment.missed');
    const visit = typeOf('fulfilled');
    assert.deepEqual(
      [visit.type, visit.occurredOn, visit.subject],
      ['visit.completed', '2026-12-03', 'appt-77'],
    );
    const cancelledUndated = eventOf(
      commandAt(bundle([patientEntry(), appointment({ status: 'cancelled', start: undefined })]), 1),
    );
    assert.equal(cancelledUndated.eventId, 'appt-77|cancelled|');
    assert.equal(commandAt(bundle([appointment({ status: 'proposed' })]), 0).kind, 'skipped');
  });

  it('refuses an appointment without a patient or a start', () => {
    assert.equal(
      problemOf(
        commandAt(bundle([appointment({ participant: [{ actor: { reference: 'Practitioner/dr-1' } }] })]), 0),
      ),
      'Appointment.participant: none of its actors is a Patient',
    );
    assert.equal(
      problemOf(commandAt(bundle([patientEntry(), appointment({ start: undefined })]), 1)),
      'Appointment.start: is required when booked',
    );
    assert.equal(
      problemOf(commandAt(bundle([patientEntry(), appointment({ start: '2026-12-03' })]), 1)),
      'Appointment.start: must be a date-time with its offset',
    );
  });
});

const coverage = (overrides: Resource = {}): Resource => ({
  resourceType: 'Coverage',
  id: 'cov-5',
  status: 'active',
  type: {
    coding: [{ system: 'https://nahdo.org/sopt', code: '21', display: 'Medicaid (Managed Care)' }],
  },
  beneficiary: subject,
  payor: [{ reference: 'Organization/state-medicaid' }],
  period: { start: '2026-01-01', end: '2027-03-31' },
  ...overrides,
});

describe('FHIR Coverage', () => {
  it('records the plan and when it ends, as the coverage sweeps read them', () => {
    const event = eventOf(commandAt(bundle([patientEntry(), coverage()]), 1));
    assert.deepEqual(event, {
      type: 'coverage.updated',
      patient: { ehrId: 'MRN-0042' },
      eventId: 'cov-5||active|medicaid|2027-03-31',
      facts: { plan: 'medicaid', endsOn: '2027-03-31' },
    });
    assert.equal(careEventProblem(event), undefined);
  });

  it('names a plan only from codes or words that say it', () => {
    const planOf = (type: unknown, status = 'active') =>
      eventOf(commandAt(bundle([patientEntry(), coverage({ type, status })]), 1)).facts?.plan;
    assert.equal(
      planOf({ coding: [{ system: 'urn:oid:2.16.840.1.113883.3.221.5', code: '1' }] }),
      'medicare',
    );
    assert.equal(planOf({ coding: [{ system: 'http://local', code: 'medicaid' }] }), 'medicaid');
    assert.equal(planOf({ text: 'Covered California marketplace plan' }), 'exchange');
    assert.equal(planOf({ coding: [{ code: 'employer' }] }), 'employer');
    // v3 ActCode MCPOL is a managed care policy (commercial HMOs too), not Medicaid.
    assert.equal(
      planOf({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'MCPOL' }] }),
      'other',
    );
    assert.equal(planOf(undefined), 'other');
    assert.equal(planOf(undefined, 'cancelled'), 'none');
    assert.equal(commandAt(bundle([coverage({ status: 'draft' })]), 0).kind, 'skipped');
  });
});

const procedure = (overrides: Resource = {}): Resource => ({
  resourceType: 'Procedure',
  id: 'proc-3',
  status: 'completed',
  code: {
    coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '77067', display: 'Screening mammography' }],
  },
  subject,
  performedDateTime: '2026-10-15T10:00:00-04:00',
  ...overrides,
});

describe('FHIR Procedure and Observation screenings', () => {
  it('records a screening done, by a code the screening rules know', () => {
    assert.deepEqual(eventOf(commandAt(bundle([patientEntry(), procedure()]), 1)), {
      type: 'screening.completed',
      patient: { ehrId: 'MRN-0042' },
      eventId: 'Procedure/proc-3',
      subject: '77067',
      occurredOn: '2026-10-15',
    });
    const colonoscopy = eventOf(
      commandAt(
        bundle([
          patientEntry(),
          procedure({
            code: { coding: [{ system: 'http://snomed.info/sct', code: '73761001' }] },
            performedDateTime: undefined,
            performedPeriod: { start: '2026-09-01T08:00:00-05:00', end: '2026-09-01T09:00:00-05:00' },
          }),
        ]),
        1,
      ),
    );
    assert.deepEqual([colonoscopy.subject, colonoscopy.occurredOn], ['73761001', '2026-09-01']);
  });

  it('records a screening not done as declined, and an exclusion as such', () => {
    const declined = eventOf(
      commandAt(
        bundle([
          patientEntry(),
          procedure({
            status: 'not-done',
            performedDateTime: undefined,
            meta: { lastUpdated: '2026-11-20T15:00:00Z' },
          }),
        ]),
        1,
      ),
    );
    assert.deepEqual([declined.type, declined.occurredOn], ['screening.declined', '2026-11-20']);
    const hysterectomy = eventOf(
      commandAt(
        bundle([
          patientEntry(),
          procedure({ code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '58150' }] } }),
        ]),
        1,
      ),
    );
    assert.deepEqual([hysterectomy.type, hysterectomy.subject], ['screening.excluded', '58150']);
  });

  it('reads screening observations and skips every other code', () => {
    const fit = eventOf(
      commandAt(
        bundle([
          patientEntry(),
          {
            resourceType: 'Observation',
            id: 'obs-fit',
            status: 'final',
            code: { coding: [{ system: 'http://loinc.org', code: '29771-3' }], text: 'FIT' },
            subject,
            effectiveDateTime: '2026-08-08',
          },
        ]),
        1,
      ),
    );
    assert.deepEqual([fit.subject, fit.occurredOn], ['FIT', '2026-08-08']);
    const heartRate = {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject,
      effectiveDateTime: '2026-08-08',
    };
    assert.deepEqual(commandAt(bundle([heartRate]), 0), {
      kind: 'skipped',
      resourceType: 'Observation',
      reason: 'not a screening code',
    });
    assert.equal(commandAt(bundle([procedure({ code: { text: 'Appendectomy' } })]), 0).kind, 'skipped');
    assert.equal(commandAt(bundle([{ ...heartRate, status: 'preliminary' }]), 0).kind, 'skipped');
  });
});

const consent = (overrides: Resource = {}): Resource => ({
  resourceType: 'Consent',
  id: 'consent-1',
  status: 'active',
  scope: {
    coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }],
  },
  category: [
    { coding: [{ system: 'http://loinc.org', code: '59284-0' }] },
    { coding: [{ system: CONTACT_CONSENT_SYSTEM, code: 'sms-marketing' }] },
  ],
  patient: subject,
  dateTime: '2026-03-01T09:30:00-05:00',
  policy: [{ uri: 'https://clinic.example.org/sms-terms/v2' }],
  provision: { type: 'permit' },
  ...overrides,
});

describe('FHIR Consent', () => {
  it('records a contact consent with its evidence', () => {
    assert.deepEqual(commandAt(bundle([patientEntry(), consent()]), 1), {
      kind: 'consent',
      patientEhrId: 'MRN-0042',
      consent: {
        channel: 'sms',
        category: 'marketing',
        granted: true,
        evidence: {
          source: 'fhir',
          method: 'ehr-record',
          disclosureVersion: 'https://clinic.example.org/sms-terms/v2',
          at: '2026-03-01T09:30:00-05:00',
        },
      },
    });
  });

  it('reads a refusal in provision.code, with the policy rule as the disclosure version', () => {
    const command = commandAt(
      bundle([
        patientEntry(),
        consent({
          category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
          policy: undefined,
          policyRule: { text: 'messaging-v1' },
          dateTime: undefined,
          provision: {
            type: 'deny',
            code: [{ coding: [{ system: CONTACT_CONSENT_SYSTEM, code: 'email-transactional' }] }],
          },
        }),
      ]),
      1,
    );
    assert.deepEqual(command, {
      kind: 'consent',
      patientEhrId: 'MRN-0042',
      consent: {
        channel: 'email',
        category: 'transactional',
        granted: false,
        evidence: { source: 'fhir', method: 'ehr-record', disclosureVersion: 'messaging-v1' },
      },
    });
  });

  it('skips other consents and refuses ambiguous ones', () => {
    assert.deepEqual(commandAt(bundle([consent({ category: [{ text: 'Treatment' }] })]), 0), {
      kind: 'skipped',
      resourceType: 'Consent',
      reason: 'not a consent to contact (no carebell contact-consent code)',
    });
    assert.equal(commandAt(bundle([consent({ status: 'inactive' })]), 0).kind, 'skipped');
    const two = consent({
      category: [
        {
          coding: [
            { system: CONTACT_CONSENT_SYSTEM, code: 'sms-marketing' },
            { system: CONTACT_CONSENT_SYSTEM, code: 'email-marketing' },
          ],
        },
      ],
    });
    assert.match(problemOf(commandAt(bundle([patientEntry(), two]), 1)), /has 2 contact-consent codes/);
    assert.equal(
      problemOf(commandAt(bundle([patientEntry(), consent({ provision: {} })]), 1)),
      'Consent.provision.type: must be permit or deny',
    );
    assert.equal(
      problemOf(commandAt(bundle([patientEntry(), consent({ dateTime: '2026-03-01' })]), 1)),
      'Consent.dateTime: must be a date-time such as 2026-03-01T09:30:00-05:00',
    );
  });
});

describe('FHIR references between entries', () => {
  it('resolve by fullUrl, Patient/id, an absolute URL, or a logical identifier', () => {
    const patient = usCorePatient({ id: 'pat-1' });
    const ehrIdOf = (
      ref: unknown,
      entries: unknown[] = [{ fullUrl: 'https://ehr.example.org/fhir/Patient/pat-1', resource: patient }],
    ) =>
      eventOf(commandAt(bundle([...(entries as Resource[]), procedure({ subject: ref })]), entries.length))
        .patient;
    assert.deepEqual(ehrIdOf({ reference: 'Patient/pat-1' }), { ehrId: 'MRN-0042' });
    assert.deepEqual(ehrIdOf({ reference: 'https://ehr.example.org/fhir/Patient/pat-1' }), {
      ehrId: 'MRN-0042',
    });
    assert.deepEqual(ehrIdOf({ reference: 'Patient/pat-1/_history/3' }), { ehrId: 'MRN-0042' });
    assert.deepEqual(ehrIdOf({ reference: PATIENT_URL }, [patientEntry()]), { ehrId: 'MRN-0042' });
    assert.deepEqual(
      ehrIdOf({ identifier: { system: 'urn:oid:2.16.840.1.113883.19.5', value: 'MRN-7' } }, []),
      { ehrId: 'MRN-7' },
    );
    assert.deepEqual(ehrIdOf({ reference: 'Patient/elsewhere', identifier: { value: 'MRN-8' } }, []), {
      ehrId: 'MRN-8',
    });
  });

  it('refuse what cannot be resolved, naming the reference but nothing about the patient', () => {
    const problem = (ref: unknown) => problemOf(commandAt(bundle([procedure({ subject: ref })]), 0));
    assert.equal(
      problem({ reference: 'Patient/123' }),
      'Procedure.subject: Patient/123 is not in this bundle and has no identifier',
    );
    assert.equal(
      problem({ reference: 'urn:uuid:0b4d1f7e-3c6a-4d6b-9a55-4f8e9b2c1d00' }),
      'Procedure.subject: urn:uuid:0b4d1f7e-3c6a-4d6b-9a55-4f8e9b2c1d00 is not in this bundle and has no identifier',
    );
    assert.equal(
      problem({ reference: 'Evelyn Okafor 1961-07-04' }),
      'Procedure.subject: the reference is not in this bundle and has no identifier',
    );
    assert.equal(problem({ reference: 'Group/g1' }), 'Procedure.subject: must reference a Patient');
    assert.equal(
      problem(undefined),
      'Procedure.subject: is required (a reference to the Patient, or its identifier)',
    );
  });
});

describe('FHIR bundles', () => {
  it('refuse only a body that is neither a Bundle nor a resource', () => {
    const refused = (body: unknown) => {
      const result = mapFhirInput(body, { now });
      return result.ok ? undefined : result.problem;
    };
    assert.match(refused(null)!, /must be a FHIR resource or Bundle/);
    assert.match(refused([usCorePatient()])!, /must be a FHIR resource or Bundle/);
    assert.match(refused({ id: 'x' })!, /resourceType/);
    assert.match(refused({ resourceType: 'Bundle', type: 'searchset', entry: [] })!, /Bundle.type/);
    assert.match(refused({ resourceType: 'Bundle', type: 'batch', entry: {} })!, /Bundle.entry/);
    assert.deepEqual(mapFhirInput({ resourceType: 'Bundle', type: 'collection' }, { now }), {
      ok: true,
      entries: [],
      bundleType: 'collection',
    });
  });

  it('take a single resource as one entry', () => {
    const result = mapFhirInput(usCorePatient(), { now });
    assert.ok(result.ok);
    assert.equal(result.bundleType, undefined);
    assert.deepEqual(
      result.entries.map((entry) => [entry.index, entry.command.kind]),
      [[0, 'patient']],
    );
  });

  it('put patients first and keep every entry its index and fullUrl', () => {
    const entries = mapped(
      bundle([
        { fullUrl: 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000001', resource: procedure() },
        { resourceType: 'Encounter', id: 'enc-1', status: 'finished', subject },
        patientEntry(),
        appointment(),
        usCorePatient({ identifier: [{ value: 'MRN-2' }] }),
      ]),
    );
    assert.deepEqual(
      entries.map((entry) => [entry.index, entry.command.kind]),
      [
        [2, 'patient'],
        [4, 'patient'],
        [0, 'event'],
        [1, 'skipped'],
        [3, 'event'],
      ],
    );
    assert.equal(entries[0]!.fullUrl, PATIENT_URL);
    assert.equal(entries[2]!.fullUrl, 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000001');
    assert.equal(entries[1]!.fullUrl, undefined);
  });

  it('make each broken entry invalid on its own and keep the good ones', () => {
    const entries = mapped({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        null,
        [],
        'Patient',
        { request: { method: 'DELETE', url: 'Patient/1' } },
        { resource: usCorePatient(), request: { method: 'GET', url: 'Patient/1' } },
        { resource: [] },
        { resource: { id: 'no-type' } },
        { resource: { resourceType: 'Observation', status: 'final', note: [{ text: 'x'.repeat(10_001) }] } },
        { resource: { resourceType: 'Appointment', status: ['booked'], participant: 'Patient/1' } },
        { resource: { resourceType: 'MedicationDispense', status: 'completed', subject: [subject] } },
        patientEntry(),
        { resource: { resourceType: 'Practitioner', id: 'dr-1' } },
      ],
    });
    const byIndex = new Map(entries.map((entry) => [entry.index, entry.command]));
    const problems = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((index) => {
      const command = byIndex.get(index)!;
      return command.kind === 'invalid' ? command.problem : command.kind;
    });
    assert.deepEqual(problems, [
      'entry: must be an object',
      'entry: must be an object',
      'entry: must be an object',
      'DELETE is not supported',
      'request.method GET is not supported (POST or PUT)',
      'entry.resource: is required (a FHIR resource)',
      'resource.resourceType: must be a FHIR resource type',
      'Observation: has a value longer than 10,000 characters',
      'Appointment.status: is required',
      'MedicationDispense.subject: is required (a reference to the Patient, or its identifier)',
    ]);
    assert.equal(byIndex.get(10)!.kind, 'patient');
    assert.deepEqual(byIndex.get(11), {
      kind: 'skipped',
      resourceType: 'Practitioner',
      reason: 'not used by carebell',
    });
  });
});

describe('a 2,000-entry transaction bundle', () => {
  const { bundle: sample, expected } = sampleTransactionBundle({
    patients: 250,
    seed: 7,
    today: '2026-11-28',
  });

  it('maps to the counts its generator expects', () => {
    const started = performance.now();
    const entries = mapped(sample);
    const elapsed = performance.now() - started;
    assert.ok(expected.entries >= 2000, `${expected.entries} entries`);
    assert.equal(entries.length, expected.entries);
    const count = (kind: FhirCommand['kind']) =>
      entries.filter((entry) => entry.command.kind === kind).length;
    const events: Record<string, number> = {};
    for (const { command } of entries)
      if (command.kind === 'event') events[command.event.type] = (events[command.event.type] ?? 0) + 1;
    assert.deepEqual(
      {
        patients: count('patient'),
        events,
        consents: count('consent'),
        skipped: count('skipped'),
        invalid: count('invalid'),
      },
      {
        patients: expected.patients,
        events: expected.events,
        consents: expected.consents,
        skipped: expected.skipped,
        invalid: expected.invalid,
      },
    );
    assert.ok(expected.invalid >= 10);
    const problems = new Set(
      entries.flatMap(({ command }) => (command.kind === 'invalid' ? [command.problem.split(':')[0]] : [])),
    );
    assert.ok(problems.size >= 6, [...problems].join('\n'));
    assert.deepEqual(
      new Set(entries.map((entry) => entry.index)),
      new Set(Array.from({ length: expected.entries }, (_, index) => index)),
    );
    const firstOther = entries.findIndex((entry) => entry.command.kind !== 'patient');
    assert.ok(entries.slice(firstOther).every((entry) => entry.command.kind !== 'patient'));
    assert.ok(elapsed < 2000, `${Math.round(elapsed)} ms`);
  });

  it('is the same for the same seed and day', () => {
    assert.deepEqual(
      sampleTransactionBundle({ patients: 30, seed: 7, today: '2026-11-28' }),
      sampleTransactionBundle({ patients: 30, seed: 7, today: '2026-11-28' }),
    );
    assert.notDeepEqual(
      sampleTransactionBundle({ patients: 30, seed: 8, today: '2026-11-28' }).bundle,
      sampleTransactionBundle({ patients: 30, seed: 7, today: '2026-11-28' }).bundle,
    );
  });

  it('writes US phone numbers libphonenumber-js holds valid', () => {
    assert.ok(expected.phones.length >= 250);
    const formats = new Set(expected.phones.map((phone) => phone.replace(/\d/g, '9')));
    assert.ok(formats.size >= 3, [...formats].join(' '));
    for (const phone of expected.phones) assert.ok(isValidPhoneNumber(phone, 'US'), phone);
  });

  it('produces events the engine accepts: valid, with the facts their journeys require', () => {
    const journeys = builtInJourneys();
    for (const { command } of mapped(sample)) {
      if (command.kind !== 'event') continue;
      const { event } = command;
      assert.ok(clinicEvent.safeParse(event).success);
      assert.equal(careEventProblem(event), undefined);
      for (const journey of journeys) {
        if (journey.trigger.event !== event.type && !journey.trigger.also?.includes(event.type)) continue;
        if (excludedByTrigger(journey, event.facts ?? {})) continue;
        assert.equal(
          factsProblem(journey, event.facts ?? {}),
          undefined,
          `${journey.key}: ${JSON.stringify(event)}`,
        );
        assert.ok(event.anchorDate, `${journey.key} needs an anchor date`);
      }
    }
  });
});
