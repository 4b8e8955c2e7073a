// What the lapsed-patient and coverage sweeps select on, kept per patient and encrypted at rest (dates of
// visits and the kind of coverage are PHI): the last visit, the appointments booked, the coverage. EHR
// events keep it current; a patient file may give it at the start.
import { DateTime } from 'luxon';
import { z } from 'zod';

const date = z.iso.date('must be a date as YYYY-MM-DD');

export const COVERAGE_PLANS = ['exchange', 'medicaid', 'medicare', 'employer', 'other', 'none'] as const;

export const coverage = z
  .object({
    plan: z.enum(COVERAGE_PLANS),
    /** When the current coverage ends (Medicaid: the end of the eligibility period). */
    endsOn: date.optional(),
    /** Medicaid: the date the renewal form is due, if the agency gave one. */
    renewalDueOn: date.optional(),
  })
  .strict();

export const careFacts = z
  .object({
    lastVisitOn: date.optional(),
    /** Booked appointments by the keyed hash of the EHR's appointment id: their dates. */
    appointments: z.record(z.string(), date).optional(),
    coverage: coverage.optional(),
  })
  .strict();

export type Coverage = z.output<typeof coverage>;
export type CareFacts = z.output<typeof careFacts>;

/** What an EHR event tells about a patient's care, as the sweeps need it. */
export interface CareEvent {
  type: string;
  /** The keyed hash of what it is about (the appointment). */
  subject?: string;
  anchorDate?: string;
  occurredOn?: string;
  facts?: Record<string, string>;
}

/** Event types that change care facts. */
export const CARE_EVENTS = [
  'visit.completed',
  'appointment.booked',
  'appointment.rescheduled',
  'appointment.cancelled',
  'coverage.updated',
] as const;

/** The coverage a `coverage.updated` event's facts describe. */
const coverageIn = (facts: Record<string, string> = {}) =>
  coverage.safeParse({ plan: facts.plan, endsOn: facts.endsOn, renewalDueOn: facts.renewalDueOn });

/** Why this event cannot be recorded as it is, if it cannot (checked before anything is written). */
export function careEventProblem(event: CareEvent): string | undefined {
  if (event.type === 'visit.completed' && !event.occurredOn)
    return 'visit.completed needs occurredOn (the day of the visit)';
  if (event.type.startsWith('appointment.') && !event.subject)
    return `${event.type} needs subject (the EHR's appointment id)`;
  if ((event.type === 'appointment.booked' || event.type === 'appointment.rescheduled') && !event.anchorDate)
    return `${event.type} needs anchorDate (the day of the appointment)`;
  if (event.type === 'coverage.updated') {
    if (!coverageIn(event.facts).success)
      return `coverage.updated needs facts.plan (${COVERAGE_PLANS.join(', ')}), and endsOn and renewalDueOn as dates when given`;
  }
  return undefined;
}

/** The care facts after the event (a new object; the input is left as it was). */
export function applyCareEvent(care: CareFacts, event: CareEvent): CareFacts {
  const appointments = { ...care.appointments };
  switch (event.type) {
    case 'visit.completed': {
      if (event.subject) delete appointments[event.subject];
      const lastVisitOn =
        care.lastVisitOn && care.lastVisitOn > event.occurredOn! ? care.lastVisitOn : event.occurredOn;
      return { ...care, lastVisitOn, appointments };
    }
    case 'appointment.booked':
    case 'appointment.rescheduled':
      return { ...care, appointments: { ...appointments, [event.subject!]: event.anchorDate! } };
    case 'appointment.cancelled':
      delete appointments[event.subject!];
      return { ...care, appointments };
    case 'coverage.updated':
      return {
        ...care,
        // Checked by careEventProblem before anything is written.
        coverage: coverageIn(event.facts).data!,
      };
    default:
      return care;
  }
}

/** No visit for `months` before `today` and nothing booked from `today` on; unknown visits never count. */
export function isLapsed(care: CareFacts, today: string, months: number): boolean {
  if (!care.lastVisitOn) return false;
  const since = DateTime.fromISO(today).minus({ months }).toISODate()!;
  const booked = Object.values(care.appointments ?? {}).some((date) => date >= today);
  return care.lastVisitOn <= since && !booked;
}
