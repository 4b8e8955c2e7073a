// Sweeps: the second way into journeys. A Temporal Schedule runs each one (the daily screening check,
// the yearly open-enrollment window); it visits every clinic's active patients and enrolls those the
// selector picks. Sweeps are data (sweeps.json); selection is a pure function of a patient's facts.
import fs from 'node:fs';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { isLapsed, type CareFacts } from './care';
import { settingsOf, type ClinicSettings } from './clinic-settings';
import { screeningsDue, type ScreeningPatient, type ScreeningRules } from './screening';

const sweep = z
  .object({
    key: z.string().regex(/^[a-z][a-z0-9-]{0,40}$/),
    description: z.string().min(1),
    journey: z.string().min(1),
    select: z.discriminatedUnion('kind', [
      /** Patients with a screening due within `withinDays` (or overdue). */
      z
        .object({
          kind: z.literal('screening-due'),
          withinDays: z.number().int().min(0).max(365),
          /** An overdue patient's recall is anchored this many days ahead (the journey counts back from it). */
          recallAnchorInDays: z.number().int().min(0).max(365),
        })
        .strict(),
      /** Patients covered through the exchange who opted in to marketing, while the clinic's open enrollment is open. */
      z.object({ kind: z.literal('open-enrollment') }).strict(),
      /** Medicaid patients who opted in to marketing, from `leadDays` before their renewal is due. */
      z
        .object({
          kind: z.literal('medicaid-renewal'),
          leadDays: z.number().int().min(7).max(120),
          /** Without a due date from the agency, the renewal is due this many days before coverage ends. */
          dueDaysBeforeEnd: z.number().int().min(0).max(120),
          /** After coverage ends, a renewal returned within this many days restores it. */
          reconsiderationDays: z.number().int().min(0).max(180),
        })
        .strict(),
      /** Patients with no visit for the clinic's `lapsedAfterMonths` and none booked; again each `everyMonths`. */
      z.object({ kind: z.literal('lapsed'), everyMonths: z.number().int().min(1).max(60) }).strict(),
    ]),
    /** Five-field cron expression, UTC. */
    cron: z.string().regex(/^(\S+\s+){4}\S+$/, 'a five-field cron expression'),
  })
  .strict();

export type Sweep = z.output<typeof sweep>;

let cached: Sweep[] | undefined;

export function sweeps(): Sweep[] {
  cached ??= z
    .array(sweep)
    .parse(JSON.parse(fs.readFileSync(new URL('./sweeps.json', import.meta.url), 'utf8')));
  return cached;
}

export function sweepByKey(key: string): Sweep {
  const found = sweeps().find((candidate) => candidate.key === key);
  if (!found)
    throw new Error(
      `no sweep "${key}"; known: ${sweeps()
        .map((known) => known.key)
        .join(', ')}`,
    );
  return found;
}

export interface SweepPatient extends ScreeningPatient {
  marketingOptIn: boolean;
  care: CareFacts;
}

/** One enrollment a sweep asks for: `occurrence` keeps a daily re-run from enrolling twice. */
export interface SweepPick {
  occurrence: string;
  anchorDate: string;
  subject?: string;
  facts?: Record<string, string>;
}

const plusDays = (date: string, days: number) => DateTime.fromISO(date).plus({ days }).toISODate()!;

/** What the sweep enrolls this patient for, on `today` (YYYY-MM-DD in the clinic's zone). */
export function selectForSweep(
  sweep: Sweep,
  patient: SweepPatient,
  today: string,
  settings: ClinicSettings = settingsOf({}),
  rules?: ScreeningRules,
): SweepPick[] {
  const { select } = sweep;
  switch (select.kind) {
    case 'screening-due': {
      const horizon = plusDays(today, select.withinDays);
      return screeningsDue(patient, today, rules)
        .filter((due) => due.dueDate <= horizon)
        .map((due) =>
          due.recallFrom
            ? // Overdue: one recall in each recall period, counted from now rather than a date long past.
              {
                occurrence: `${sweep.key}|${due.program}|recall|${due.recallFrom}`,
                anchorDate: plusDays(today, select.recallAnchorInDays),
                subject: due.program,
                facts: { overdue: 'true' },
              }
            : {
                occurrence: `${sweep.key}|${due.program}|${due.dueDate}`,
                anchorDate: due.dueDate,
                subject: due.program,
              },
        );
    }
    case 'open-enrollment': {
      if (!patient.marketingOptIn || patient.care.coverage?.plan !== 'exchange') return [];
      const period = openEnrollmentPeriod(settings, today);
      if (!period) return [];
      return [{ occurrence: `${sweep.key}|${period.deadline}`, anchorDate: period.deadline, facts: period }];
    }
    case 'medicaid-renewal': {
      const { coverage } = patient.care;
      if (!patient.marketingOptIn || coverage?.plan !== 'medicaid' || !coverage.endsOn) return [];
      const renewalDueOn = coverage.renewalDueOn ?? plusDays(coverage.endsOn, -select.dueDaysBeforeEnd);
      const reconsiderBy = plusDays(coverage.endsOn, select.reconsiderationDays);
      if (today < plusDays(renewalDueOn, -select.leadDays) || today > reconsiderBy) return [];
      return [
        {
          occurrence: `${sweep.key}|${coverage.endsOn}`,
          anchorDate: renewalDueOn,
          facts: { renewalDueOn, coverageEndsOn: coverage.endsOn, reconsiderBy },
        },
      ];
    }
    case 'lapsed': {
      const { lastVisitOn } = patient.care;
      if (!lastVisitOn || !isLapsed(patient.care, today, settings.lapsedAfterMonths)) return [];
      const lapsedOn = DateTime.fromISO(lastVisitOn).plus({ months: settings.lapsedAfterMonths });
      const round = Math.floor(DateTime.fromISO(today).diff(lapsedOn, 'months').months / select.everyMonths);
      return [
        {
          occurrence: `${sweep.key}|${lastVisitOn}|${round}`,
          anchorDate: lastVisitOn,
          facts: { lapsed: 'true' },
        },
      ];
    }
  }
}

/**
 * The clinic's open-enrollment period that `today` falls in, as dates: it opens in one year (say 1 November)
 * and its deadlines fall in the same year or the next (15 December, 15 January).
 */
export function openEnrollmentPeriod(
  settings: ClinicSettings,
  today: string,
): { opensOn: string; januaryDeadline: string; deadline: string } | undefined {
  const { opensOn, januaryDeadline, closesOn } = settings.openEnrollment;
  const year = Number(today.slice(0, 4));
  for (const opensIn of [year - 1, year]) {
    const on = (monthDay: string) => {
      const sameYear = `${opensIn}-${monthDay}`;
      return monthDay < opensOn ? `${opensIn + 1}-${monthDay}` : sameYear;
    };
    const period = { opensOn: on(opensOn), januaryDeadline: on(januaryDeadline), deadline: on(closesOn) };
    if (period.opensOn <= today && today <= period.deadline) return period;
  }
  return undefined;
}
