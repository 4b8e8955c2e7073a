// Consent to be contacted, per channel and category. R4 Consent has no field for "texts about refills"
// versus "marketing email", so carebell defines a small code system for it (see README.md here and the
// CapabilityStatement), carried in Consent.category or Consent.provision.code; one code per Consent, so one
// entry is one decision. A Consent without such a code (treatment, privacy, research) is not about contact.
import { consentInput } from '../domain/patient-input';
import { invalid, notActedOn, skipped, statusOf, type FhirCommand } from './commands';
import { resolvePatient, type BundleIndex } from './references';
import { codesOf, codings, field, objects, text, type JsonObject } from './values';

export const CONTACT_CONSENT_SYSTEM = 'https://carebell.dev/fhir/CodeSystem/contact-consent';

export const CONTACT_CONSENT_CODES = {
  'sms-transactional': { channel: 'sms', category: 'transactional', display: 'Text messages about care' },
  'sms-marketing': { channel: 'sms', category: 'marketing', display: 'Marketing text messages' },
  'email-transactional': { channel: 'email', category: 'transactional', display: 'Email about care' },
  'email-marketing': { channel: 'email', category: 'marketing', display: 'Marketing email' },
} as const;

type ContactConsentCode = keyof typeof CONTACT_CONSENT_CODES;
const isContactConsentCode = (code: string): code is ContactConsentCode =>
  Object.hasOwn(CONTACT_CONSENT_CODES, code);

/** The code system as a FHIR resource, for clients that validate codes or want it documented. */
export const contactConsentCodeSystem = {
  resourceType: 'CodeSystem',
  id: 'contact-consent',
  url: CONTACT_CONSENT_SYSTEM,
  version: '1',
  name: 'CarebellContactConsent',
  title: 'carebell contact consent',
  status: 'active',
  experimental: false,
  publisher: 'carebell',
  description:
    'What a patient agreed (provision.type permit) or refused (deny) to receive from the clinic through carebell: ' +
    'a channel (SMS or email) and a category (transactional messages about their care, such as refill and ' +
    'appointment reminders, or marketing). Carried in Consent.category or Consent.provision.code, one code per Consent.',
  caseSensitive: true,
  content: 'complete',
  concept: Object.entries(CONTACT_CONSENT_CODES).map(([code, meaning]) => ({
    code,
    display: meaning.display,
    definition: `${meaning.category === 'marketing' ? 'Marketing' : 'Transactional (care-related)'} messages by ${meaning.channel === 'sms' ? 'SMS' : 'email'}.`,
  })),
};

const STATUSES = ['draft', 'proposed', 'active', 'rejected', 'inactive', 'entered-in-error'] as const;

const CONSENT_FIELDS: Record<string, string> = {
  'evidence.at': 'Consent.dateTime',
  'evidence.disclosureVersion': 'Consent.policy',
};

export function mapConsent(consent: JsonObject, index: BundleIndex): FhirCommand {
  const checked = statusOf(consent, 'Consent', STATUSES);
  if ('command' in checked) return checked.command;
  if (checked.status !== 'active') return notActedOn('Consent', checked.status, 'active');
  const provision = field(consent, 'provision');
  const codes = [
    ...new Set(
      codesOf([...objects(consent, 'category'), ...objects(provision, 'code')], CONTACT_CONSENT_SYSTEM),
    ),
  ];
  if (codes.length === 0)
    return skipped('Consent', 'not a consent to contact (no carebell contact-consent code)');
  const known = codes.filter(isContactConsentCode);
  if (known.length !== codes.length)
    return invalid(
      'Consent',
      `Consent.category: contact-consent codes are ${Object.keys(CONTACT_CONSENT_CODES).join(', ')}`,
    );
  if (known.length > 1)
    return invalid(
      'Consent',
      `Consent.category: has ${known.length} contact-consent codes; send one Consent per channel and category`,
    );
  const decision = text(provision, 'type');
  if (decision !== 'permit' && decision !== 'deny')
    return invalid('Consent', 'Consent.provision.type: must be permit or deny');
  const patient = resolvePatient(index, field(consent, 'patient'), 'Consent.patient');
  if ('problem' in patient) return invalid('Consent', patient.problem);

  const policyRule = field(consent, 'policyRule');
  const disclosureVersion =
    text(objects(consent, 'policy')[0], 'uri') ??
    text(policyRule, 'text') ??
    codings(policyRule).find((coding) => coding.code)?.code;
  const { channel, category } = CONTACT_CONSENT_CODES[known[0]!];
  const parsed = consentInput.safeParse({
    channel,
    category,
    granted: decision === 'permit',
    evidence: {
      source: 'fhir',
      method: 'ehr-record',
      ...(disclosureVersion === undefined ? {} : { disclosureVersion }),
      ...(text(consent, 'dateTime') === undefined ? {} : { at: text(consent, 'dateTime') }),
    },
  });
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `${CONSENT_FIELDS[issue.path.join('.')] ?? 'Consent'}: ${issue.message}`,
    );
    return invalid('Consent', issues.join('; '));
  }
  return { kind: 'consent', patientEhrId: patient.mrn, consent: parsed.data };
}
