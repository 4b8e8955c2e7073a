// Coverage keeps the patient's plan current for the Medicaid-renewal and open-enrollment sweeps. Both send
// marketing, so a plan is named only from codes that say it: US Core's Payer Type (SOPT: 1… Medicare,
// 2… Medicaid) or a local code or text that spells it out. v3 ActCode policy types (MCPOL managed care, HIP
// health insurance, EHCPOL extended care) say how a policy is organised, not who pays, so they count as
// `other`.
import type { Coverage } from '../journeys/care';
import { eventCommand, invalid, notActedOn, statusOf, type FhirCommand } from './commands';
import { resolvePatient, type BundleIndex } from './references';
import { codings, datePart, field, resourceKey, text, type JsonObject } from './values';

const COVERAGE = 'Coverage';
const STATUSES = ['active', 'cancelled', 'draft', 'entered-in-error'] as const;
const PAYER_TYPE_SYSTEMS = ['https://nahdo.org/sopt', 'urn:oid:2.16.840.1.113883.3.221.5'];
const PAYER_TYPES: [prefix: string, plan: Coverage['plan']][] = [
  ['1', 'medicare'],
  ['2', 'medicaid'],
];
// Checked in this order: a dual-eligible "Medicare-Medicaid" plan is one whose Medicaid must be renewed.
const PLAN_WORDS: [pattern: RegExp, plan: Coverage['plan']][] = [
  [/\bmedicaid\b|\bmedi-cal\b/i, 'medicaid'],
  [/\bmedicare\b/i, 'medicare'],
  [/\bmarketplace\b|\bexchange\b|\bqualified health plan\b/i, 'exchange'],
  [/\bemployer\b|\bemployer-sponsored\b/i, 'employer'],
];

export function planOf(type: unknown): Coverage['plan'] {
  const found = codings(type);
  for (const coding of found) {
    if (coding.code && coding.system && PAYER_TYPE_SYSTEMS.includes(coding.system))
      for (const [prefix, plan] of PAYER_TYPES) if (coding.code.startsWith(prefix)) return plan;
  }
  const words = [...found.flatMap((coding) => [coding.code, coding.display]), text(type, 'text')].filter(
    (word): word is string => word !== undefined,
  );
  for (const [pattern, plan] of PLAN_WORDS) if (words.some((word) => pattern.test(word))) return plan;
  return 'other';
}

export function mapCoverage(coverage: JsonObject, index: BundleIndex): FhirCommand {
  const checked = statusOf(coverage, COVERAGE, STATUSES);
  if ('command' in checked) return checked.command;
  const { status } = checked;
  if (status !== 'active' && status !== 'cancelled') return notActedOn(COVERAGE, status, 'active, cancelled');
  const patient = resolvePatient(index, field(coverage, 'beneficiary'), `${COVERAGE}.beneficiary`);
  if ('problem' in patient) return invalid(COVERAGE, patient.problem);
  const end = text(field(coverage, 'period'), 'end');
  const endsOn = datePart(end);
  if (end !== undefined && endsOn === undefined)
    return invalid(COVERAGE, `${COVERAGE}.period.end: must be a date`);
  const plan = status === 'cancelled' ? 'none' : planOf(field(coverage, 'type'));
  const facts: Record<string, string> = { plan };
  if (endsOn) facts.endsOn = endsOn;
  const id = resourceKey(coverage);
  const version = text(field(coverage, 'meta'), 'versionId') ?? '';
  return eventCommand(COVERAGE, {
    type: 'coverage.updated',
    patient: { ehrId: patient.mrn },
    // An event id seen before is not acted on again, so it carries the version and what changed: a renewed
    // period of the same Coverage must be acted on.
    eventId: id === undefined ? undefined : [id, version, status, plan, endsOn ?? ''].join('|'),
    facts,
  });
}
