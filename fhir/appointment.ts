// Appointments keep the reminders and the lapsed-patient sweep current. FHIR has no "rescheduled" status:
// a moved appointment arrives booked with a new start, so the start is part of the event id and the move is
// a new event.
import { eventCommand, invalid, notActedOn, statusOf, type FhirCommand } from './commands';
import { findResource, resolvePatient, type BundleIndex } from './references';
import { datePart, field, objects, resourceKey, text, timePart, type JsonObject } from './values';

const APPOINTMENT = 'Appointment';
const STATUSES = [
  'proposed',
  'pending',
  'booked',
  'arrived',
  'fulfilled',
  'cancelled',
  'noshow',
  'entered-in-error',
  'checked-in',
  'waitlist',
] as const;
const EVENT_TYPES: Record<string, string> = {
  booked: 'appointment.booked',
  cancelled: 'appointment.cancelled',
  noshow: 'appointment.missed',
  fulfilled: 'visit.completed',
};

/** The participant that is the patient: its actor references a Patient (in the bundle or by type). */
function patientActor(appointment: JsonObject, index: BundleIndex): unknown {
  return objects(appointment, 'participant')
    .map((participant) => field(participant, 'actor'))
    .find((actor) => {
      const reference = text(actor, 'reference');
      const found = reference === undefined ? undefined : findResource(index, reference);
      if (found) return text(found, 'resourceType') === 'Patient';
      return text(actor, 'type') === 'Patient' || /(^|\/)Patient\/[^/]+$/.test(reference ?? '');
    });
}

export function mapAppointment(appointment: JsonObject, index: BundleIndex): FhirCommand {
  const checked = statusOf(appointment, APPOINTMENT, STATUSES);
  if ('command' in checked) return checked.command;
  const { status } = checked;
  const type = EVENT_TYPES[status];
  if (type === undefined) return notActedOn(APPOINTMENT, status, Object.keys(EVENT_TYPES).join(', '));
  const actor = patientActor(appointment, index);
  if (actor === undefined)
    return invalid(APPOINTMENT, `${APPOINTMENT}.participant: none of its actors is a Patient`);
  const patient = resolvePatient(index, actor, `${APPOINTMENT}.participant.actor`);
  if ('problem' in patient) return invalid(APPOINTMENT, patient.problem);
  const id = resourceKey(appointment);
  if (id === undefined)
    return invalid(
      APPOINTMENT,
      `${APPOINTMENT}.id: is required (reminders and cancellations are matched by it)`,
    );

  const start = text(appointment, 'start');
  const day = datePart(start);
  const time = timePart(start);
  // Booked needs the day and time for the reminders, fulfilled the day of the visit; a cancellation or a
  // no-show is about the appointment whatever its start was.
  if (start === undefined && (status === 'booked' || status === 'fulfilled'))
    return invalid(APPOINTMENT, `${APPOINTMENT}.start: is required when ${status}`);
  if (start !== undefined && (day === undefined || time === undefined))
    return invalid(APPOINTMENT, `${APPOINTMENT}.start: must be a date-time with its offset`);
  return eventCommand(APPOINTMENT, {
    type,
    patient: { ehrId: patient.mrn },
    subject: id,
    eventId: `${id}|${status}|${start ?? ''}`,
    // Every status carries the day when it is known: a clinic's own journey may start on a no-show.
    anchorDate: day,
    occurredOn: status === 'fulfilled' || status === 'noshow' ? day : undefined,
    facts: time === undefined ? undefined : { appointmentTime: time },
  });
}
