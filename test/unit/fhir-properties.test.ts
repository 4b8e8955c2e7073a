// Properties of the FHIR mapping over generated input: it never throws (arbitrary JSON, resources of the
// types it reads with arbitrary fields, valid bundles mutated at random), every entry comes back once, and
// no problem or reason ever repeats a PHI value planted in the input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CONTACT_CONSENT_SYSTEM } from '../../fhir/consent';
import { mapFhirInput, UNREADABLE_ENTRY, type FhirMapping } from '../../fhir/map-bundle';
import { sampleTransactionBundle } from '../../fhir/sample-bundle';

const now = new Date('2026-11-28T12:00:00Z');
const KINDS = ['patient', 'event', 'consent', 'skipped', 'invalid'];

/** Well formed: each input entry once, known kinds, and no mapper failed unexpectedly. */
function assertWellFormed(result: FhirMapping, entryCount?: number) {
  if (!result.ok) {
    assert.equal(typeof result.problem, 'string');
    return;
  }
  const indexes = result.entries.map((entry) => entry.index);
  assert.equal(new Set(indexes).size, indexes.length);
  if (entryCount !== undefined) assert.equal(indexes.length, entryCount);
  for (const { command } of result.entries) {
    assert.ok(KINDS.includes(command.kind));
    if (command.kind === 'invalid') assert.ok(!command.problem.includes(UNREADABLE_ENTRY), command.problem);
  }
  JSON.stringify(result);
}

const READ_FIELDS = [
  'id',
  'status',
  'subject',
  'patient',
  'beneficiary',
  'identifier',
  'name',
  'telecom',
  'birthDate',
  'gender',
  'active',
  'deceasedBoolean',
  'deceasedDateTime',
  'address',
  'communication',
  'extension',
  'authorizingPrescription',
  'daysSupply',
  'whenHandedOver',
  'whenPrepared',
  'medicationCodeableConcept',
  'medicationReference',
  'dispenseRequest',
  'dosageInstruction',
  'start',
  'participant',
  'type',
  'period',
  'code',
  'performedDateTime',
  'performedPeriod',
  'effectiveDateTime',
  'effectivePeriod',
  'meta',
  'category',
  'provision',
  'policy',
  'policyRule',
  'dateTime',
];
const READ_TYPES = [
  'Patient',
  'MedicationDispense',
  'MedicationRequest',
  'Appointment',
  'Coverage',
  'Procedure',
  'Observation',
  'Consent',
];

/** Values shaped like what the mappers look for, so generated input reaches deep into them. */
const plausible: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    'completed',
    'active',
    'booked',
    'final',
    'not-done',
    'permit',
    '2026-12-03T09:30:00-05:00',
    '1961-02-30',
    'Patient/p1',
    'urn:uuid:6f1c1c3e-3c4e-4a57-9f0e-7d1c2f6c8a01',
  ),
  fc.record({ reference: fc.constantFrom('Patient/p1', 'MedicationRequest/r1', 'Group/g', '#x', '') }),
  fc.record({
    value: fc.oneof(fc.integer(), fc.string(), fc.constant('30')),
    code: fc.constantFrom('d', 'wk', 'mo', 'h'),
  }),
  fc.array(
    fc.record({
      coding: fc.array(
        fc.record({
          system: fc.constantFrom(
            CONTACT_CONSENT_SYSTEM,
            'https://nahdo.org/sopt',
            'http://www.ama-assn.org/go/cpt',
          ),
          code: fc.constantFrom('sms-marketing', '2', '77067', '58150', 'MR', 'x'),
        }),
      ),
    }),
    { maxLength: 3 },
  ),
);

const knownResource = fc
  .tuple(
    fc.constantFrom(...READ_TYPES),
    fc.dictionary(fc.constantFrom(...READ_FIELDS), plausible, { maxKeys: 12 }),
  )
  .map(([resourceType, fields]) => ({ ...fields, resourceType }));

describe('mapFhirInput on generated input', () => {
  it('never throws on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => assertWellFormed(mapFhirInput(value, { now }))),
      { numRuns: 3000 },
    );
  });

  it('never throws on bundles of arbitrary entries and of read resource types with arbitrary fields', () => {
    const entry = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record(
        {
          fullUrl: fc.constantFrom(
            'Patient/p1',
            'urn:uuid:6f1c1c3e-3c4e-4a57-9f0e-7d1c2f6c8a01',
            'MedicationRequest/r1',
          ),
          resource: knownResource,
          request: fc.record({
            method: fc.oneof(fc.constantFrom('POST', 'PUT', 'DELETE', 'GET'), fc.jsonValue()),
          }),
        },
        { requiredKeys: ['resource'] },
      ),
    );
    fc.assert(
      fc.property(
        fc.constantFrom('batch', 'transaction', 'collection'),
        fc.array(entry, { maxLength: 12 }),
        (type, entries) => {
          assertWellFormed(
            mapFhirInput({ resourceType: 'Bundle', type, entry: entries }, { now }),
            entries.length,
          );
        },
      ),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(knownResource, (resource) => assertWellFormed(mapFhirInput(resource, { now }), 1)),
      { numRuns: 2000 },
    );
  });

  it('never throws on valid bundles mutated at random', () => {
    const { bundle } = sampleTransactionBundle({ patients: 2, seed: 3, today: '2026-11-28' });
    const paths: (string | number)[][] = [];
    const walk = (value: unknown, path: (string | number)[]) => {
      paths.push(path);
      if (Array.isArray(value)) value.forEach((item, index) => walk(item, [...path, index]));
      else if (typeof value === 'object' && value !== null)
        for (const [key, item] of Object.entries(value)) walk(item, [...path, key]);
    };
    walk(bundle, []);
    const mutation = fc.record({
      at: fc.nat(),
      how: fc.constantFrom('replace', 'delete', 'wrap', 'stringify', 'null', 'number'),
      value: fc.jsonValue({ maxDepth: 2 }),
    });
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 8 }), (mutations) => {
        const copy = structuredClone(bundle);
        for (const { at, how, value } of mutations) {
          const path = paths[at % paths.length]!;
          if (path.length === 0) continue;
          let parent: unknown = copy;
          for (const key of path.slice(0, -1))
            parent =
              typeof parent === 'object' && parent !== null
                ? (parent as Record<string, unknown>)[key]
                : undefined;
          if (typeof parent !== 'object' || parent === null) continue;
          const holder = parent as Record<string | number, unknown>;
          const key = path.at(-1)!;
          const current = holder[key];
          if (how === 'delete') delete holder[key];
          else if (how === 'replace') holder[key] = value;
          else if (how === 'wrap') holder[key] = [current];
          else if (how === 'stringify')
            holder[key] = typeof current === 'number' ? String(current) : JSON.stringify(current);
          else if (how === 'null') holder[key] = null;
          else holder[key] = typeof current === 'string' && /^\d+$/.test(current) ? Number(current) : 42;
        }
        assertWellFormed(mapFhirInput(copy, { now }));
      }),
      { numRuns: 2000 },
    );
  });

  it('never repeats a planted name, birth date, phone number, email or MRN in a problem or reason', () => {
    const canary = fc.record({
      given: fc.stringMatching(/^Qz[a-z]{6,9}$/),
      family: fc.stringMatching(/^Xq[a-z]{6,9}$/),
      birthDate: fc
        .date({
          min: new Date('1920-01-01T00:00:00Z'),
          max: new Date('2005-12-31T00:00:00Z'),
          noInvalidDate: true,
        })
        .map((date) => date.toISOString().slice(0, 10)),
      phone: fc
        .tuple(
          fc.constantFrom('201', '212', '415', '646'),
          fc.integer({ min: 0, max: 99 }),
          fc.integer({ min: 0, max: 2 }),
        )
        .map(([area, line, format]) => {
          const last = `01${String(line).padStart(2, '0')}`;
          return [`${area}-555-${last}`, `(${area}) 555-${last}`, `+1 ${area} 555 ${last}`][format]!;
        }),
      mrn: fc.stringMatching(/^MRN[0-9]{7}$/),
    });
    // Each plants canary values where the mapper reads them, often in the wrong shape or field.
    type Canary = {
      given: string;
      family: string;
      birthDate: string;
      phone: string;
      mrn: string;
      email: string;
    };
    const plantings: ((
      patient: Record<string, unknown>,
      others: Record<string, unknown>[],
      c: Canary,
    ) => void)[] = [
      (p, _, c) => (p.birthDate = c.phone),
      (p, _, c) => (p.birthDate = `${c.birthDate}T25:00`),
      (p, _, c) => (p.gender = c.given),
      (p, _, c) => (p.name = [{ text: `${c.given} ${c.family}`.repeat(20) }]),
      (p, _, c) => (p.name = c.family),
      (p, _, c) => (p.telecom = [{ system: 'email', value: `${c.given} ${c.email}` }]),
      (p, _, c) =>
        (p.telecom = [{ system: 'phone', value: `${c.phone} ${c.given} ${c.family} ${c.birthDate}` }]),
      (p, _, c) => (p.communication = [{ language: { coding: [{ code: c.given }] } }]),
      (p, _, c) =>
        (p.extension = [{ url: 'http://hl7.org/fhir/StructureDefinition/timezone', valueCode: c.family }]),
      (p, _, c) => (p.address = [{ text: `${c.family} `.repeat(60) }]),
      (p, _, c) => (p.identifier = [{ value: `${c.mrn} ${c.family}` }]),
      (p) => delete p.identifier,
      (p, _, c) => (p.status = c.given),
      (_, o, c) => (o[0]!.subject = { identifier: { value: `${c.mrn} ${c.given}` } }),
      (_, o, c) => (o[0]!.whenHandedOver = c.birthDate.replaceAll('-', '')),
      (_, o, c) => (o[0]!.daysSupply = { value: c.phone, unit: c.given }),
      (_, o, c) => (o[1]!.start = `${c.birthDate} ${c.given}`),
      (_, o, c) => (o[1]!.status = c.family),
      (_, o, c) => (o[2]!.dateTime = c.birthDate),
      (_, o, c) => (o[2]!.policy = [{ uri: `${c.email} ${c.family}`.repeat(10) }]),
      (_, o, c) => (o[3]!.period = { end: `${c.birthDate}-${c.given}` }),
      (_, o, c) => (o[4]!.performedDateTime = c.phone),
    ];
    fc.assert(
      fc.property(
        canary,
        fc.subarray(
          plantings.map((_, index) => index),
          { minLength: 1 },
        ),
        (values, chosen) => {
          const c = {
            ...values,
            email: `${values.given.toLowerCase()}.${values.family.toLowerCase()}@example.org`,
          };
          const patient: Record<string, unknown> = {
            resourceType: 'Patient',
            identifier: [{ value: c.mrn }],
            name: [{ given: [c.given], family: c.family }],
            birthDate: c.birthDate,
            telecom: [
              { system: 'phone', value: c.phone, use: 'mobile' },
              { system: 'email', value: c.email },
            ],
          };
          const subject = { reference: 'urn:uuid:00000000-0000-4000-8000-000000000001' };
          const others: Record<string, unknown>[] = [
            {
              resourceType: 'MedicationDispense',
              status: 'completed',
              subject,
              daysSupply: { value: 30, code: 'd' },
            },
            { resourceType: 'Appointment', id: 'a1', status: 'booked', participant: [{ actor: subject }] },
            {
              resourceType: 'Consent',
              status: 'active',
              patient: subject,
              category: [{ coding: [{ system: CONTACT_CONSENT_SYSTEM, code: 'sms-marketing' }] }],
              provision: { type: 'permit' },
            },
            { resourceType: 'Coverage', status: 'active', beneficiary: subject },
            {
              resourceType: 'Procedure',
              status: 'completed',
              subject,
              code: { coding: [{ code: '77067' }] },
            },
          ];
          for (const index of chosen) plantings[index]!(patient, others, c);
          const result = mapFhirInput(
            {
              resourceType: 'Bundle',
              type: 'batch',
              entry: [
                { fullUrl: subject.reference, resource: patient },
                ...others.map((resource) => ({ resource })),
              ],
            },
            { now },
          );
          assert.ok(result.ok);
          const said = result.entries
            .map(({ command }) =>
              command.kind === 'invalid' ? command.problem : command.kind === 'skipped' ? command.reason : '',
            )
            .join('\n')
            .toLowerCase();
          const forms = [
            c.given,
            c.family,
            c.email,
            c.mrn,
            c.birthDate,
            c.birthDate.replaceAll('-', ''),
            c.phone,
            c.phone.replace(/\D/g, '').slice(-10),
          ];
          for (const form of forms) assert.ok(!said.includes(form.toLowerCase()), `${form} in:\n${said}`);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
