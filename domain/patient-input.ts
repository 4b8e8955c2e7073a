// What a clinic or an EHR says about a patient, the same whichever door it comes through (the HTTP API,
// a FHIR Patient or Consent, a CSV row). Validated here; phone numbers are normalised to E.164 with the
// clinic's region when the input is applied, since the region is the clinic's.
import { z } from 'zod';
import { CATEGORIES, CHANNELS, PATIENT_STATUSES } from './messaging';
import { SEX_AT_BIRTH } from './patient';

/** The clinic's id for the patient (the MRN): the key every upsert goes by. Stored only encrypted and hashed. */
export const externalId = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters')
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

/** A BCP 47 language tag, stored canonical (es-mx → es-MX). */
export const languageTag = z
  .string()
  .trim()
  .max(35, 'must be at most 35 characters')
  .transform((value, ctx) => {
    try {
      const [canonical] = Intl.getCanonicalLocales(value);
      if (canonical) return canonical;
    } catch {
      // reported below
    }
    ctx.addIssue({ code: 'custom', message: 'must be a BCP 47 language tag such as en, es-MX or zh-Hant' });
    return z.NEVER;
  });

export const timeZone = z
  .string()
  .trim()
  .max(64, 'must be at most 64 characters')
  .refine(isTimeZone, 'must be an IANA time zone such as America/New_York');

export const isoDate = z.iso.date('must be a date as YYYY-MM-DD');

const knownZones = new Map<string, boolean>();

/**
 * Intl knows the IANA zones (no luxon here: workflows may import domain/). Remembered per name: an import
 * checks the same few zones a hundred thousand times, and each check builds a formatter.
 */
function isTimeZone(value: string): boolean {
  let known = knownZones.get(value);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: value });
      known = value.length > 0;
    } catch {
      known = false;
    }
    if (knownZones.size < 1000) knownZones.set(value, known);
  }
  return known;
}

const phone = z.object({
  /** As the record wrote it ("555-807-7943", "+1 (555) 807-7943"); normalised with the clinic's region. */
  number: z.string().trim().min(1, 'must not be empty').max(40, 'must be at most 40 characters'),
  /** Only mobile numbers receive SMS; a landline is kept for the record but never texted. */
  use: z.enum(['mobile', 'home', 'work']).default('mobile'),
});

export const patientInput = z
  .object({
    externalId,
    name: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
    dateOfBirth: isoDate.refine(
      (value) => value >= '1900-01-01' && value <= new Date().toISOString().slice(0, 10),
      'must be a real date between 1900 and today',
    ),
    sexAtBirth: z.enum(SEX_AT_BIRTH).optional(),
    /** Unset: the clinic's default language. */
    language: languageTag.optional(),
    /** Unset: the clinic's time zone. */
    timeZone: timeZone.optional(),
    /** Unset: SMS when the patient has a mobile number, otherwise email. */
    preferredChannel: z.enum(CHANNELS).optional(),
    /** In order of preference (rank): the first mobile number is texted, the first email written to. */
    phones: z.array(phone).max(10, 'at most 10 numbers').default([]),
    emails: z
      .array(z.email('must be an email address').max(254, 'must be at most 254 characters'))
      .max(10, 'at most 10 addresses')
      .default([]),
    postalAddress: z.string().trim().max(500, 'must be at most 500 characters').optional(),
    status: z.enum(PATIENT_STATUSES).default('active'),
  })
  .strict();

export type PatientInput = z.output<typeof patientInput>;

/**
 * One consent decision with its evidence, appended to the patient's history (never overwritten): the
 * latest per (channel, category) holds.
 */
export const consentInput = z
  .object({
    channel: z.enum(CHANNELS),
    category: z.enum(CATEGORIES),
    granted: z.boolean(),
    evidence: z
      .object({
        /** Where it was given: `web-form`, `front-desk`, `ehr`, `sms-reply`… */
        source: z.string().trim().min(1).max(100),
        method: z.enum(['written', 'electronic', 'verbal', 'sms-keyword', 'ehr-record']),
        /** The version of the disclosure text the patient saw, so it can be produced later. */
        disclosureVersion: z.string().trim().min(1).max(100).optional(),
        /** When the patient gave it (ISO 8601 with an offset); unset, now. */
        at: z.iso
          .datetime({ offset: true, message: 'must be a date-time such as 2026-03-01T09:30:00-05:00' })
          .optional(),
      })
      .strict(),
  })
  .strict();

export type ConsentInput = z.output<typeof consentInput>;
