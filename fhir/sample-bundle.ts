// A large, realistic transaction bundle (US Core-like) with the counts mapping it must produce, for the
// mapping's tests and the HTTP API's integration test. Deterministic for a seed and a day. Phone numbers are
// in the fictional 555-01xx range of area codes where libphonenumber-js holds them valid for region US.
import { addDays } from './values';
import { CONTACT_CONSENT_SYSTEM } from './consent';

export interface SampleBundleOptions {
  patients: number;
  seed: number;
  /** YYYY-MM-DD the dates are counted from (appointments ahead, dispenses behind); default today. */
  today?: string;
}

export interface SampleExpectation {
  entries: number;
  /** Patient commands (upserts). */
  patients: number;
  /** Event commands by event type. */
  events: Record<string, number>;
  consents: number;
  skipped: number;
  /** The deliberately bad entries. */
  invalid: number;
  /** Every phone number written into the Patients, as written. */
  phones: string[];
}

const AREA_CODES = [
  '201',
  '202',
  '206',
  '212',
  '213',
  '305',
  '312',
  '404',
  '415',
  '512',
  '617',
  '646',
  '718',
];
const GIVEN = [
  'Maria',
  'James',
  'Linh',
  'Aaliyah',
  'Jose',
  'Wei',
  'Fatima',
  'Robert',
  'Ana',
  'Darnell',
  'Priya',
];
const FAMILY = [
  'Garcia',
  'Nguyen',
  'Smith',
  'Johnson',
  'Chen',
  'Okafor',
  'Rivera',
  'Patel',
  'Kowalski',
  'Haddad',
];
const LANGUAGES = ['en', 'en', 'en', 'es', 'es', 'es-MX', 'zh-Hant', 'vi'];
const OFFSETS = ['-05:00', '-06:00', '-07:00', '-08:00', '-04:00'];
const SCREENING_PROCEDURES = [
  ['http://www.ama-assn.org/go/cpt', '77067', 'Screening mammography, bilateral'],
  ['http://www.ama-assn.org/go/cpt', '45378', 'Colonoscopy, diagnostic'],
  ['http://www.ama-assn.org/go/cpt', '88142', 'Cytopathology, cervical or vaginal'],
  ['http://snomed.info/sct', '24623002', 'Screening mammography'],
] as const;
const COVERAGE_TYPES = [
  { coding: [{ system: 'https://nahdo.org/sopt', code: '2', display: 'MEDICAID' }] },
  { coding: [{ system: 'https://nahdo.org/sopt', code: '1', display: 'MEDICARE' }] },
  { text: 'Marketplace silver plan' },
  { coding: [{ system: 'https://nahdo.org/sopt', code: '5', display: 'PRIVATE HEALTH INSURANCE' }] },
] as const;
const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const UCUM = 'http://unitsofmeasure.org';

/** mulberry32: small, fast and deterministic. */
function randomSource(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)]!;
  const chance = (probability: number) => next() < probability;
  const uuid = () =>
    'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (c) =>
      (c === 'x' ? int(0, 15) : int(8, 11)).toString(16),
    );
  return { int, pick, chance, uuid };
}

const pad = (value: number, length = 2) => String(value).padStart(length, '0');

export function sampleTransactionBundle(options: SampleBundleOptions): {
  bundle: Record<string, unknown>;
  expected: SampleExpectation;
} {
  const random = randomSource(options.seed);
  const today = options.today ?? new Date().toISOString().slice(0, 10);
  const entry: Record<string, unknown>[] = [];
  const expected: SampleExpectation = {
    entries: 0,
    patients: 0,
    events: {},
    consents: 0,
    skipped: 0,
    invalid: 0,
    phones: [],
  };
  const event = (type: string) => (expected.events[type] = (expected.events[type] ?? 0) + 1);
  const add = (
    resource: Record<string, unknown>,
    request = { method: 'POST', url: String(resource.resourceType) },
  ) => {
    const fullUrl = `urn:uuid:${random.uuid()}`;
    entry.push({ fullUrl, resource, request });
    return fullUrl;
  };
  const dateTime = (day: string, hour: number, minute = 0) =>
    `${day}T${pad(hour)}:${pad(minute)}:00${random.pick(OFFSETS)}`;
  const phone = () => {
    const area = random.pick(AREA_CODES);
    const line = `01${pad(random.int(0, 99))}`;
    return random.pick([
      `${area}-555-${line}`,
      `(${area}) 555-${line}`,
      `+1 ${area} 555 ${line}`,
      `${area}.555.${line}`,
    ]);
  };

  const practitioners = Array.from({ length: 5 }, (_, n) =>
    add({
      resourceType: 'Practitioner',
      id: `pr-${options.seed}-${n}`,
      identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: String(1000000000 + n) }],
      name: [{ family: random.pick(FAMILY), given: [random.pick(GIVEN)], prefix: ['Dr.'] }],
    }),
  );
  expected.skipped += practitioners.length;

  for (let n = 0; n < options.patients; n++) {
    const mrn = `MRN-${options.seed}-${pad(n, 6)}`;
    const phones = Array.from({ length: random.int(1, 2) }, phone);
    expected.phones.push(...phones);
    const telecom: Record<string, unknown>[] = phones.map((value, rank) => ({
      system: 'phone',
      value,
      use: rank === 0 ? 'mobile' : 'home',
      rank: rank + 1,
    }));
    if (random.chance(0.7))
      telecom.push({ system: 'email', value: `patient${options.seed}.${n}@example.org` });
    const patientUrl = add(
      {
        resourceType: 'Patient',
        meta: { profile: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient'] },
        identifier: [
          {
            use: 'usual',
            type: { coding: [{ system: V2_0203, code: 'MR', display: 'Medical record number' }] },
            system: 'urn:oid:2.16.840.1.113883.19.5',
            value: mrn,
          },
        ],
        active: true,
        name: [{ use: 'official', family: random.pick(FAMILY), given: [random.pick(GIVEN)] }],
        telecom,
        gender: random.pick(['female', 'male']),
        birthDate: `${random.int(1940, 2000)}-${pad(random.int(1, 12))}-${pad(random.int(1, 28))}`,
        address: [
          {
            use: 'home',
            line: [`${random.int(1, 9999)} Main St`],
            city: 'Springfield',
            state: 'IL',
            postalCode: '62701',
          },
        ],
        communication: [
          {
            language: { coding: [{ system: 'urn:ietf:bcp:47', code: random.pick(LANGUAGES) }] },
            preferred: true,
          },
        ],
      },
      { method: 'PUT', url: `Patient?identifier=urn:oid:2.16.840.1.113883.19.5|${mrn}` },
    );
    expected.patients += 1;
    const subject = { reference: patientUrl };

    const requestId = `mr-${options.seed}-${n}`;
    const requestUrl = add({
      resourceType: 'MedicationRequest',
      id: requestId,
      status: 'active',
      intent: 'order',
      medicationCodeableConcept: {
        coding: [
          {
            system: 'http://www.nlm.nih.gov/research/umls/rxnorm',
            code: '197361',
            display: 'Amlodipine 5 MG',
          },
        ],
      },
      subject,
      dosageInstruction: [{ text: 'Take 1 tablet daily', asNeededBoolean: random.chance(0.1) }],
      dispenseRequest: { numberOfRepeatsAllowed: random.int(0, 5) },
    });
    expected.skipped += 1;
    const supply = random.pick([30, 60, 90]);
    add({
      resourceType: 'MedicationDispense',
      id: `md-${options.seed}-${n}`,
      status: 'completed',
      subject,
      authorizingPrescription: [{ reference: requestUrl }],
      quantity: { value: supply, system: UCUM, code: '{tbl}' },
      daysSupply: { value: supply, unit: 'days', system: UCUM, code: 'd' },
      whenHandedOver: dateTime(addDays(today, -random.int(0, 20)), random.int(9, 18)),
    });
    event('medication.dispensed');
    if (random.chance(0.3)) {
      add({
        resourceType: 'MedicationRequest',
        id: `mr-${options.seed}-${n}-old`,
        status: 'stopped',
        intent: 'order',
        subject,
      });
      event('medication.discontinued');
    }

    const appointment = random.pick(['booked', 'booked', 'booked', 'cancelled', 'fulfilled'] as const);
    const appointmentDay = addDays(
      today,
      appointment === 'fulfilled' ? -random.int(1, 60) : random.int(2, 60),
    );
    add({
      resourceType: 'Appointment',
      id: `ap-${options.seed}-${n}`,
      status: appointment,
      start: dateTime(appointmentDay, random.int(8, 16), random.pick([0, 15, 30, 45])),
      participant: [
        { actor: subject, status: 'accepted' },
        { actor: { reference: random.pick(practitioners) }, status: 'accepted' },
      ],
    });
    event(
      { booked: 'appointment.booked', cancelled: 'appointment.cancelled', fulfilled: 'visit.completed' }[
        appointment
      ],
    );

    if (random.chance(0.5)) {
      add({
        resourceType: 'Coverage',
        id: `cov-${options.seed}-${n}`,
        status: 'active',
        type: random.pick(COVERAGE_TYPES),
        beneficiary: subject,
        payor: [{ display: 'State Medicaid Agency' }],
        period: { start: addDays(today, -300), end: addDays(today, random.int(30, 330)) },
      });
      event('coverage.updated');
    }
    if (random.chance(0.4)) {
      const [system, code, display] = random.pick(SCREENING_PROCEDURES);
      add({
        resourceType: 'Procedure',
        id: `proc-${options.seed}-${n}`,
        status: 'completed',
        code: { coding: [{ system, code, display }] },
        subject,
        performedDateTime: dateTime(addDays(today, -random.int(10, 700)), 10),
      });
      event('screening.completed');
    }
    add({
      resourceType: 'Observation',
      id: `obs-${options.seed}-${n}`,
      status: 'final',
      category: [
        {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' },
          ],
        },
      ],
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
      subject,
      effectiveDateTime: dateTime(addDays(today, -random.int(1, 300)), 11),
      valueQuantity: { value: random.int(55, 95), unit: 'beats/minute', system: UCUM, code: '/min' },
    });
    expected.skipped += 1;
    if (random.chance(0.2)) {
      add({
        resourceType: 'Observation',
        id: `fit-${options.seed}-${n}`,
        status: 'final',
        code: {
          coding: [
            {
              system: 'http://loinc.org',
              code: '29771-3',
              display: 'Hemoglobin.gastrointestinal.lower [Presence] in Stool by Immunoassay',
            },
          ],
          text: 'Fecal immunochemical test',
        },
        subject,
        effectiveDateTime: dateTime(addDays(today, -random.int(10, 300)), 9),
        valueCodeableConcept: { text: 'Negative' },
      });
      event('screening.completed');
    }
    add({
      resourceType: 'Encounter',
      id: `enc-${options.seed}-${n}`,
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      subject,
      participant: [{ individual: { reference: random.pick(practitioners) } }],
    });
    expected.skipped += 1;
    if (random.chance(0.5)) {
      add({
        resourceType: 'Condition',
        id: `cond-${options.seed}-${n}`,
        clinicalStatus: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
        },
        code: { coding: [{ system: 'http://snomed.info/sct', code: '38341003', display: 'Hypertension' }] },
        subject,
      });
      expected.skipped += 1;
    }
    if (random.chance(0.3)) {
      add({
        resourceType: 'Consent',
        status: 'active',
        scope: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }],
        },
        category: [
          {
            coding: [
              {
                system: CONTACT_CONSENT_SYSTEM,
                code: random.pick(['sms-transactional', 'email-transactional']),
              },
            ],
          },
        ],
        patient: subject,
        dateTime: dateTime(addDays(today, -random.int(0, 365)), 14),
        policy: [{ uri: 'https://clinic.example.org/messaging-terms/v3' }],
        provision: { type: 'permit' },
      });
      expected.consents += 1;
    }
    if (n % 25 === 24) addBadEntry(Math.floor(n / 25), subject);
  }

  /** One of the kinds of broken entry real feeds carry, in turn. */
  function addBadEntry(kind: number, subject: { reference: string }) {
    expected.invalid += 1;
    switch (kind % 7) {
      case 0:
        add({
          resourceType: 'Patient',
          identifier: [{ value: `MRN-${options.seed}-bad-${kind}` }],
          name: [{ text: 'Pat Broken' }],
          birthDate: '1990-02-30',
        });
        return;
      case 1:
        add({
          resourceType: 'MedicationDispense',
          id: `md-orphan-${kind}`,
          status: 'completed',
          subject: { reference: `Patient/missing-${kind}` },
          whenHandedOver: `${today}T10:00:00-05:00`,
          daysSupply: { value: 30, code: 'd' },
        });
        return;
      case 2:
        entry.push({ request: { method: 'DELETE', url: `Patient/${kind}` } });
        return;
      case 3:
        entry.push(null as unknown as Record<string, unknown>);
        return;
      case 4:
        add({
          resourceType: 'Appointment',
          id: `ap-nostart-${kind}`,
          status: 'booked',
          participant: [{ actor: subject }],
        });
        return;
      case 5:
        add({
          resourceType: 'MedicationDispense',
          id: `md-norequest-${kind}`,
          status: 'completed',
          subject,
          whenHandedOver: `${today}T10:00:00-05:00`,
          daysSupply: { value: 30, code: 'd' },
        });
        return;
      default:
        add({ resourceType: 'Observation', status: 'final', code: { text: 'x'.repeat(10_001) }, subject });
    }
  }

  expected.entries = entry.length;
  return { bundle: { resourceType: 'Bundle', type: 'transaction', entry }, expected };
}
