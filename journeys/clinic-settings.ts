// What a clinic decides about its journeys beyond their definitions: its exchange's open-enrollment dates
// (state exchanges differ from HealthCare.gov and change by year), when a patient counts as lapsed, the
// language its patients read when theirs is not shipped, and how many SMS segments a message may cost.
// Stored on the clinic as JSON; every field has the default a clinic on the federal exchange would use.
import { z } from 'zod';
import { languageTag } from '../domain/patient-input';
import { shippedLanguage, supportedLanguages } from '../locales/languages';

const monthDay = z.string().regex(/^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, 'a month and day, MM-DD');

export const clinicSettings = z
  .object({
    /** HealthCare.gov's dates by default; a state exchange sets its own each year. */
    openEnrollment: z
      .object({
        opensOn: monthDay,
        /** The last day to enroll for coverage from 1 January. */
        januaryDeadline: monthDay,
        closesOn: monthDay,
      })
      .strict()
      .default({ opensOn: '11-01', januaryDeadline: '12-15', closesOn: '01-15' }),
    /** No visit for this many months, and none booked: the patient is lapsed. */
    lapsedAfterMonths: z.number().int().min(3).max(60).default(12),
    /** Tried after the patient's own language and before English (BCP 47, a shipped language). */
    defaultLanguage: languageTag
      .refine((tag) => shippedLanguage(tag) !== undefined, {
        message: `must be a shipped language: ${supportedLanguages().join(', ')}`,
      })
      .default('en'),
    /**
     * Segments an SMS may cost in any shipped language, checked when a journey version is published.
     * Three hold every shipped message: a UCS-2 text of 160 characters (the FCC's healthcare limit) takes
     * three 67-character parts; one holds only the GSM-7 languages.
     */
    smsMaxSegments: z.number().int().min(1).max(10).default(3),
  })
  .strict();

export type ClinicSettings = z.output<typeof clinicSettings>;

/** A clinic's stored settings with the defaults filled in; stored JSON was validated when written. */
export const settingsOf = (stored: unknown): ClinicSettings => clinicSettings.parse(stored ?? {});
