// Which preventive screenings a patient is due for, by the USPSTF's recommendations per test method: the
// program's ages and sex at birth, the interval of the method last used, exclusions that end a program
// (a cervix removed, both breasts, the colon, hospice), and what the patient declined or had done elsewhere.
// The rules and the codes that name a test are data (screening-rules.json), so a clinic can extend them.
import fs from 'node:fs';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { normaliseSexAtBirth } from '../domain/patient';

const slug = z.string().regex(/^[a-z][a-z0-9-]*$/);

const method = z
  .object({
    method: slug,
    intervalMonths: z.number().int().min(1).max(600),
    /** Below this age the method is not one the guideline offers; its result counts with the first method's interval. */
    fromAge: z.number().int().min(0).max(120).optional(),
    /** Codes (CPT, LOINC, SNOMED CT) and common names that report this method. */
    names: z.array(z.string().min(1)).default([]),
  })
  .strict();

export const screeningProgram = z
  .object({
    program: slug,
    sexAtBirth: z.enum(['female', 'male', 'any']),
    fromAge: z.number().int().min(0).max(120),
    toAge: z.number().int().min(0).max(120),
    methods: z.array(method).min(1),
    /** Exclusions (by key, see `exclusions`) after which the program no longer applies. */
    excludedBy: z.array(slug).default([]),
  })
  .strict()
  .refine((program) => program.toAge >= program.fromAge, {
    message: 'toAge must not be below fromAge',
    path: ['toAge'],
  });

export const screeningRules = z
  .object({
    programs: z.array(screeningProgram).min(1),
    /** Exclusion keys with the codes and names that report them; `all` ends every program (e.g. hospice). */
    exclusions: z.array(
      z.object({ key: slug, ends: z.enum(['program', 'all']), names: z.array(z.string()) }).strict(),
    ),
    /** While overdue, a patient is recalled once in each period of this length. */
    recallMonths: z.number().int().min(1).max(60),
    /** A decline holds reminders of that program for this long. */
    declineHoldsMonths: z.number().int().min(1).max(60),
  })
  .strict();

export type ScreeningRules = z.output<typeof screeningRules>;
export type ScreeningProgram = z.output<typeof screeningProgram>;

let defaults: ScreeningRules | undefined;
export function defaultScreeningRules(): ScreeningRules {
  defaults ??= screeningRules.parse(
    JSON.parse(fs.readFileSync(new URL('./screening-rules.json', import.meta.url), 'utf8')),
  );
  return defaults;
}

export interface ScreeningEntry {
  /** A method, a program, a code (CPT, LOINC, SNOMED CT) or a common name. */
  test: string;
  /** YYYY-MM-DD */
  date: string;
  /** `elsewhere`: done by another provider and reported; counts as done. */
  status?: 'done' | 'declined' | 'elsewhere';
}

export interface ScreeningPatient {
  dateOfBirth: string;
  sexAtBirth?: string;
  screenings?: ScreeningEntry[];
  /** Procedures or states that end programs: a code or a name, with its date. */
  exclusions?: { test: string; date: string }[];
}

export interface ScreeningDue {
  program: string;
  /** The method the due date is counted from (the last one used), if any. */
  lastMethod: string | null;
  /** YYYY-MM-DD */
  dueDate: string;
  overdue: boolean;
  /** While overdue: the start of the current recall period (one reminder per period). */
  recallFrom: string | null;
}

const key = (text: string) => text.trim().toLowerCase().replace(/\s+/g, ' ');

/** Which program and method a reported test is: by method key, program key, code or name. */
export function classifyScreening(
  test: string,
  rules: ScreeningRules = defaultScreeningRules(),
): { program: string; method: string } | undefined {
  const wanted = key(test);
  for (const program of rules.programs) {
    for (const candidate of program.methods) {
      if (candidate.method === wanted || candidate.names.some((name) => key(name) === wanted))
        return { program: program.program, method: candidate.method };
    }
    // A program named without its method (e.g. "mammogram" for breast, "colorectal") counts as its first.
    if (program.program === wanted) return { program: program.program, method: program.methods[0]!.method };
  }
  return undefined;
}

/** The program a reported test belongs to (the subject of a screening journey), or the test as given. */
export function screeningProgramOf(test: string): string {
  return classifyScreening(test)?.program ?? test;
}

/** The programs an exclusion (a procedure or state, by key, code or name) ends; none if unknown. */
export function programsEndedBy(test: string, rules: ScreeningRules = defaultScreeningRules()): string[] {
  const found = classifyExclusion(test, rules);
  if (!found) return [];
  return rules.programs
    .filter((program) => found.ends === 'all' || program.excludedBy.includes(found.key))
    .map((program) => program.program);
}

function classifyExclusion(test: string, rules: ScreeningRules) {
  const wanted = key(test);
  return rules.exclusions.find(
    (exclusion) => exclusion.key === wanted || exclusion.names.some((name) => key(name) === wanted),
  );
}

/** The screenings `patient` is due for on `today` (YYYY-MM-DD), with due dates and whether overdue. */
export function screeningsDue(
  patient: ScreeningPatient,
  today: string,
  rules: ScreeningRules = defaultScreeningRules(),
): ScreeningDue[] {
  const born = DateTime.fromISO(patient.dateOfBirth, { zone: 'utc' });
  const now = DateTime.fromISO(today, { zone: 'utc' });
  const sex = normaliseSexAtBirth(patient.sexAtBirth);
  const excluded = new Set<string>();
  for (const exclusion of patient.exclusions ?? []) {
    const found = classifyExclusion(exclusion.test, rules);
    if (found && exclusion.date <= today) excluded.add(found.ends === 'all' ? '*' : found.key);
  }
  if (excluded.has('*')) return [];

  return rules.programs.flatMap((program): ScreeningDue[] => {
    if (program.sexAtBirth !== 'any' && program.sexAtBirth !== sex) return [];
    if (program.excludedBy.some((exclusion) => excluded.has(exclusion))) return [];
    const starts = born.plus({ years: program.fromAge });
    const ends = born.plus({ years: program.toAge + 1 });
    if (now >= ends) return [];

    const entries = (patient.screenings ?? [])
      .filter((entry) => entry.date <= today)
      .map((entry) => ({ ...entry, found: classifyScreening(entry.test, rules) }))
      .filter((entry) => entry.found?.program === program.program)
      .sort((a, b) => a.date.localeCompare(b.date));
    const done = entries.filter((entry) => entry.status !== 'declined').at(-1);
    const declined = entries.filter((entry) => entry.status === 'declined').at(-1);

    let due = starts;
    let lastMethod: string | null = null;
    if (done) {
      const used = program.methods.find((candidate) => candidate.method === done.found!.method)!;
      const ageThen = DateTime.fromISO(done.date, { zone: 'utc' }).diff(born, 'years').years;
      // A method used before the age the guideline offers it counts with the program's first interval.
      const interval =
        used.fromAge !== undefined && ageThen < used.fromAge
          ? program.methods[0]!.intervalMonths
          : used.intervalMonths;
      const next = DateTime.fromISO(done.date, { zone: 'utc' }).plus({ months: interval });
      if (next > due) due = next;
      lastMethod = used.method;
    }
    if (declined && (!done || declined.date > done.date)) {
      const held = DateTime.fromISO(declined.date, { zone: 'utc' }).plus({
        months: rules.declineHoldsMonths,
      });
      if (held > due) due = held;
    }
    if (due >= ends) return [];
    const overdue = due < now;
    const periods = overdue ? Math.floor(now.diff(due, 'months').months / rules.recallMonths) : 0;
    return [
      {
        program: program.program,
        lastMethod,
        dueDate: due.toISODate()!,
        overdue,
        recallFrom: overdue ? due.plus({ months: periods * rules.recallMonths }).toISODate()! : null,
      },
    ];
  });
}
