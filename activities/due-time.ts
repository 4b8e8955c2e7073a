import { getPatient } from '../db/queries/patients';
import { withClinic } from '../db/tenant';
import { CarebellError } from '../domain/errors';
import type { DueSpec } from '../domain/reminder';
import { localTimeToEpochMs } from '../rules/time';
import type { ActivityDeps } from './deps';

export function createDueTimeActivities({ db, cipher }: ActivityDeps) {
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
      if (!patient) throw new CarebellError('PatientNotFound');
      return localTimeToEpochMs(input.due.date, input.due.time, patient.timeZone);
    },
  };
}
