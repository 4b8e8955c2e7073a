// Which preventive screenings a patient is due for, from age, sex at birth and the last screening of each
// kind. The rules are data (screening-rules.json), so a clinic's own intervals replace the defaults.
import fs from 'node:fs';
import { DateTime } from 'luxon';
import { z } from 'zod';

export const screeningRule = z
  .object({
    test: z.string().regex(/^[a-z][a-z0-9-]*$/),
    sexAtBirth: z.enum(['female', 'male', 'any']),
    fromAge: z.number().int().min(0).max(120),
    toAge: z.number().int().min(0).max(120),
    intervalMonths: z.number().int().min(1).max(600),
  })
  .strict()
  .refine((rule) => rule.toAge >= rule.fromAge, {
    message: 'toAge must not be below fromAge',
    path: ['toAge'],
  });

export type ScreeningRule = z.output<typeof screeningRule>;

export function defaultScreeningRules(): ScreeningRule[] {
  const raw: unknown = JSON.parse(
    fs.readFileSync(new URL('./screening-rules.json', import.meta.url), 'utf8'),
  );
  return z.array(screeningRule).parse(raw);
}

export interface ScreeningDue {
  test: string;
  /** YYYY-MM-DD: the later of the birthday the rule starts at and the last screening plus the interval. */
  dueDate: string;
  overdue: boolean;
}

export function screeningsDue(
  patient: {
    dateOfBirth: string;
    sexAtBirth?: string;
    lastScreenings?: Record<string, string>;
  },
  today: string,
  rules: ScreeningRule[] = defaultScreeningRules(),
): ScreeningDue[] {
  const born = DateTime.fromISO(patient.dateOfBirth, { zone: 'utc' });
  const now = DateTime.fromISO(today, { zone: 'utc' });
  return rules.flatMap((rule) => {
    if (rule.sexAtBirth !== 'any' && rule.sexAtBirth !== patient.sexAtBirth) return [];
    const starts = born.plus({ years: rule.fromAge });
    const ends = born.plus({ years: rule.toAge + 1 });
    const last = patient.lastScreenings?.[rule.test];
    const next = last
      ? DateTime.fromISO(last, { zone: 'utc' }).plus({ months: rule.intervalMonths })
      : starts;
    const due = next < starts ? starts : next;
    if (due >= ends || now >= ends) return [];
    return [{ test: rule.test, dueDate: due.toISODate()!, overdue: due < now }];
  });
}
