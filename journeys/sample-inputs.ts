// The sample patient and trigger event a journey preview runs with (`carebell simulate`, the API's preview).
import { IANAZone } from 'luxon';
import { z } from 'zod';

const channel = z.enum(['sms', 'email']);
export const patientFile = z
  .object({
    timeZone: z
      .string()
      .refine((zone) => IANAZone.isValidZone(zone), 'must be an IANA time zone such as America/New_York'),
    language: z
      .string()
      .regex(/^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/, 'must be a BCP 47 language tag such as es or es-MX'),
    preferredChannel: channel.default('sms'),
    channels: z.array(channel).min(1).optional(),
    marketingOptIn: z.boolean().default(false),
  })
  .strict()
  .transform((patient) => ({ ...patient, channels: patient.channels ?? [patient.preferredChannel] }));

export const eventFile = z
  .object({
    type: z.string().min(1),
    anchorDate: z.iso.date().optional(),
    anchorInDays: z.number().int().min(-3650).max(3650).optional(),
    facts: z.record(z.string(), z.string()).optional(),
    /** Date facts as days from the start of the simulation, e.g. { "januaryDeadline": 44 }. */
    datesInDays: z.record(z.string(), z.number().int().min(-3650).max(3650)).optional(),
    then: z
      .array(
        z
          .object({
            after: z.string().regex(/^P/, 'an ISO-8601 duration such as P10D'),
            event: z.string().min(1),
          })
          .strict(),
      )
      .optional(),
  })
  .strict()
  .refine((event) => (event.anchorDate === undefined) !== (event.anchorInDays === undefined), {
    message: 'give exactly one of anchorDate and anchorInDays',
  });
