// What an EHR integration sends to start, advance or end journeys. The same shape arrives through the
// CLI (`carebell events send`) and, later, the HTTP API.
import { z } from 'zod';

const eventName = z.string().regex(/^[a-z]+(\.[a-z-]+)+$/, 'event names look like medication.dispensed');
/** Identifiers from the EHR; they may be PHI, so they are only ever stored and passed on as keyed hashes. */
const ehrIdentifier = z.string().trim().min(1).max(200);

export const clinicEvent = z
  .object({
    type: eventName,
    patient: z.union([
      z.object({ id: z.uuid('must be a carebell patient id (UUID)') }).strict(),
      z.object({ ehrId: ehrIdentifier }).strict(),
    ]),
    /** The EHR's id of this event (e.g. the dispense); a repeat with the same id is the same event. */
    eventId: ehrIdentifier.optional(),
    /** What it is about (e.g. the prescription): goal events end only journeys about the same thing. */
    subject: ehrIdentifier.optional(),
    /** The date the journeys it starts count from: refill due, screening due, last visit, coverage end. */
    anchorDate: z.iso.date('must be a date as YYYY-MM-DD').optional(),
    /** When it happened, e.g. the day a screening was done (screening.completed records it). */
    occurredOn: z.iso.date('must be a date as YYYY-MM-DD').optional(),
    /** Values the messages may show; never PHI beyond what the template needs (e.g. a deadline). */
    facts: z.record(z.string().regex(/^[a-zA-Z]\w{0,40}$/), z.string().max(200)).optional(),
    /**
     * What only the secure pickup page may show, never an SMS or plain email: the medication's name, the
     * screening test, the appointment's place. Kept encrypted with the enrollment and each delivery.
     */
    details: z.record(z.string().regex(/^[a-zA-Z]\w{0,40}$/), z.string().max(500)).optional(),
  })
  .strict();

export type ClinicEvent = z.output<typeof clinicEvent>;
