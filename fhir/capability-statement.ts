// What GET /fhir/r4/metadata says carebell does with FHIR: it takes batches and transactions (and
// collections, and single resources) posted to the base, and reads only what reminders need.
import { CONTACT_CONSENT_CODES, CONTACT_CONSENT_SYSTEM } from './consent';

/** When this statement last changed; a constant, so the statement is the same on every call. */
const STATEMENT_DATE = '2026-11-28';

const viaBundle = [
  { code: 'create', documentation: 'Only as an entry of a batch or transaction posted to the base (POST).' },
  { code: 'update', documentation: 'Only as an entry of a batch or transaction posted to the base (PUT).' },
];

const RESOURCES: [type: string, documentation: string][] = [
  [
    'Patient',
    'Upserted by MRN: the identifier typed MR (v2-0203), else the usual or official one, else the first (never ' +
      'an SSN, licence or passport number). Reads name, birthDate, gender (or US Core birthsex), telecom (phone, ' +
      'sms, email; by rank; old or ended ones skipped), the preferred communication language, the home address, ' +
      'the timezone extension, active and deceased[x].',
  ],
  [
    'MedicationDispense',
    'status completed starts refill reminders: whenHandedOver (else whenPrepared) plus daysSupply is when the ' +
      'supply runs out. The authorizingPrescription MedicationRequest must be in the same bundle for ' +
      'dispenseRequest.numberOfRepeatsAllowed (the refills left) and dosageInstruction.asNeeded[x].',
  ],
  [
    'MedicationRequest',
    'status stopped, cancelled or entered-in-error ends the refill reminders about it; active requests are ' +
      'read as context for the dispenses beside them.',
  ],
  [
    'Appointment',
    'booked, cancelled, noshow and fulfilled; the patient is the participant whose actor is a Patient. The ' +
      'reminder shows the date and time of start as written, in its own offset.',
  ],
  [
    'Coverage',
    'active or cancelled: the plan from type (US Core Payer Type: Medicare, Medicaid; or a code or text naming ' +
      'Medicaid, Medicare, marketplace or employer coverage) and period.end, for renewal reminders.',
  ],
  [
    'Procedure',
    'completed or not-done preventive screenings (codes of the screening rules: CPT, HCPCS, SNOMED CT), and ' +
      'completed procedures that end a screening program (e.g. a hysterectomy). Other codes are skipped.',
  ],
  ['Observation', 'final, amended or corrected results of preventive screenings; other codes are skipped.'],
  [
    'Consent',
    `active consents to be contacted, one code per Consent from ${CONTACT_CONSENT_SYSTEM} (` +
      `${Object.keys(CONTACT_CONSENT_CODES).join(', ')}) in category or provision.code; provision.type permit ` +
      'grants, deny refuses; dateTime is when, policy[0].uri or policyRule the disclosure version. Other consents ' +
      'are skipped.',
  ],
];

export function capabilityStatement(baseUrl: string): object {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: STATEMENT_DATE,
    publisher: 'carebell',
    kind: 'instance',
    software: { name: 'carebell' },
    implementation: { description: 'carebell patient reminder engine: FHIR R4 intake', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['json', 'application/fhir+json'],
    rest: [
      {
        mode: 'server',
        documentation:
          'POST a Bundle of type batch, transaction or collection (or a single resource) to the base. Each entry ' +
          'is applied on its own and answered in a batch-response: a transaction is not all-or-nothing, and a bad ' +
          'entry never loses the good ones. Entries may be POST or PUT; DELETE is refused. References between ' +
          'entries resolve by fullUrl (urn:uuid too) or Patient/id, and a reference with a logical identifier is ' +
          'read as the MRN. Resource types not listed are accepted and skipped.',
        resource: RESOURCES.map(([type, documentation]) => ({
          type,
          documentation,
          interaction: viaBundle,
          versioning: 'no-version',
          readHistory: false,
          updateCreate: true,
        })),
        interaction: [
          { code: 'batch', documentation: 'Entries applied in order, patients first; answered per entry.' },
          { code: 'transaction', documentation: 'Processed as a batch: per entry, not all-or-nothing.' },
        ],
      },
    ],
  };
}
