import { ApplicationFailure } from '@temporalio/activity';
import { DateTime } from 'luxon';
import { getPatient } from '../db/queries/patients';
import { withClinic } from '../db/tenant';
import type { DueSpec } from '../workflows/reminder-types';
import type { ActivityDeps } from '.';

/**
 * Turns a wall-clock time in a zone into an instant. On the spring-forward gap the time does not exist
 * and moves forward by the gap (02:30 becomes 03:30); on the fall-back overlap the earlier instant wins.
 */
export function localTimeToEpochMs(date: string, time: string, timeZone: string): number {
  const local = DateTime.fromISO(`${date}T${time}`, { zone: timeZone });
  if (!local.isValid) {
    throw ApplicationFailure.nonRetryable(
      `cannot place ${date} ${time} in ${timeZone}: ${local.invalidExplanation ?? local.invalidReason}`,
      'InvalidDueTime',
    );
  }
  // Luxon resolves an ambiguous wall time to the later instant; a reminder should not come an hour late.
  const wall = local.toFormat("yyyy-MM-dd'T'HH:mm");
  for (const minutes of [60, 30]) {
    const earlier = local.minus({ minutes });
    if (earlier.toFormat("yyyy-MM-dd'T'HH:mm") === wall) return earlier.toMillis();
  }
  return local.toMillis();
}

export function createScheduleActivities({ db, cipher }: ActivityDeps) {
  return {
    /** When a reminder is due, as epoch milliseconds, reading the patient's current time zone. */
    async resolveDueTime(input: {
      clinicId: string;
      patientId: string;
      due: Extract<DueSpec, { kind: 'local-time' }>;
    }): Promise<number> {
      const patient = await withClinic(db, input.clinicId, (tx) =>
        getPatient(tx, cipher, 'worker', input.clinicId, input.patientId),
      );
      if (!patient)
        throw ApplicationFailure.nonRetryable('patient not found in this clinic', 'PatientNotFound');
      return localTimeToEpochMs(input.due.date, input.due.time, patient.timeZone);
    },
  };
}
