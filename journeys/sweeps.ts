// Sweeps: the second way into journeys. A Temporal Schedule runs each one (the daily screening check,
// the yearly open-enrollment window); it visits every clinic's active patients and enrolls those the
// selector picks. Sweeps are data (sweeps.json); selection is a pure function of a patient's facts.
import fs from 'node:fs';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { screeningsDue, type ScreeningEntry, type ScreeningRules } from './screening';

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
      /** Patients who opted in to marketing on some channel, counting down to the next `deadline` (MM-DD). */
      z
        .object({
          kind: z.literal('marketing-opt-in'),
          deadline: z.string().regex(/^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, 'a month and day, MM-DD'),
        })
        .strict(),
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

export interface SweepPatient {
  dateOfBirth: string;
  sexAtBirth?: string;
  screenings: ScreeningEntry[];
  marketingOptIn: boolean;
}

/** One enrollment a sweep asks for: `occurrence` keeps a daily re-run from enrolling twice. */
export interface SweepPick {
  occurrence: string;
  anchorDate: string;
  subject?: string;
  facts?: Record<string, string>;
}

/** What the sweep enrolls this patient for, on `today` (YYYY-MM-DD in the clinic's zone). */
export function selectForSweep(
  sweep: Sweep,
  patient: SweepPatient,
  today: string,
  rules?: ScreeningRules,
): SweepPick[] {
  const { select } = sweep;
  if (select.kind === 'screening-due') {
    const horizon = DateTime.fromISO(today).plus({ days: select.withinDays }).toISODate()!;
    return screeningsDue(patient, today, rules)
      .filter((due) => due.dueDate <= horizon)
      .map((due) =>
        due.recallFrom
          ? // Overdue: one recall in each recall period, counted from now rather than a date long past.
            {
              occurrence: `${sweep.key}|${due.program}|recall|${due.recallFrom}`,
              anchorDate: DateTime.fromISO(today).plus({ days: select.recallAnchorInDays }).toISODate()!,
              subject: due.program,
            }
          : {
              occurrence: `${sweep.key}|${due.program}|${due.dueDate}`,
              anchorDate: due.dueDate,
              subject: due.program,
            },
      );
  }
  if (!patient.marketingOptIn) return [];
  const [month, day] = select.deadline.split('-').map(Number) as [number, number];
  const thisYear = DateTime.fromISO(today).set({ month, day });
  const deadline = (thisYear.toISODate()! >= today ? thisYear : thisYear.plus({ years: 1 })).toISODate()!;
  return [{ occurrence: `${sweep.key}|${deadline}`, anchorDate: deadline, facts: { deadline } }];
}
