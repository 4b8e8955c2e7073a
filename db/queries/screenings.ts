// Screenings a patient has had. Which test and when are PHI: one encrypted value per record.
import { randomUUID } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import { normaliseSubject } from '../../domain/subject';
import type { ScreeningEntry } from '../../journeys/screening';
import { JsonFileError, parseJson } from '../../lib/json-file';
import { DecryptionError, type FieldCipher } from '../../security/field-cipher';
import { screeningRecords } from '../schema';
import type { Queryable } from '../tenant';
import { appendAudit } from './audit';

export interface ScreeningRecord {
  /** The test, or for an exclusion the procedure or state (hysterectomy, hospice). */
  test: string;
  /** YYYY-MM-DD */
  performedOn: string;
  /** Absent in records written before statuses: done. */
  status?: 'done' | 'declined' | 'elsewhere' | 'exclusion';
}

const where = (clinicId: string, rowId: string) => ({
  clinicId,
  table: 'screening_records',
  column: 'record_enc',
  rowId,
});

export async function recordScreening(
  db: Queryable,
  cipher: FieldCipher,
  actor: string,
  clinicId: string,
  patientId: string,
  record: ScreeningRecord,
): Promise<void> {
  const id = randomUUID();
  // The test is the subject of the screening journey it ends: the same normalisation as everywhere else.
  const normalised = { ...record, test: normaliseSubject(record.test) };
  await db
    .insert(screeningRecords)
    .values({
      id,
      clinicId,
      patientId,
      recordEnc: cipher.encrypt(JSON.stringify(normalised), where(clinicId, id)),
      // The same test on the same day is one record (a done one keeps the index it always had).
      recordIndex: cipher.blindIndex(
        'screening',
        clinicId,
        [
          normalised.test,
          normalised.performedOn,
          ...(record.status && record.status !== 'done' ? [record.status] : []),
        ].join('|'),
      ),
    })
    .onConflictDoNothing();
  await appendAudit(db, {
    actor,
    clinicId,
    action: 'screening.create',
    objectType: 'patient',
    objectId: patientId,
    outcome: 'success',
  });
}

export interface PatientScreenings {
  screenings: ScreeningEntry[];
  exclusions: { test: string; date: string }[];
}

export interface LastScreenings {
  /** What the screening rules need of each patient who has records. */
  latest: Map<string, PatientScreenings>;
  /** Patients with a screening record that cannot be read: what is due for them is unknown. */
  unreadable: Set<string>;
}

/**
 * Each patient's screenings (done, declined, done elsewhere) and exclusions; an unreadable record marks its patient unreadable. The read
 * is audited once for the patients asked about (first..last id), and once more per unreadable patient.
 */
export async function lastScreenings(
  db: Queryable,
  cipher: FieldCipher,
  actor: string,
  clinicId: string,
  patientIds: string[],
): Promise<LastScreenings> {
  const result: LastScreenings = { latest: new Map(), unreadable: new Set() };
  if (patientIds.length === 0) return result;
  const rows = await db
    .select()
    .from(screeningRecords)
    .where(and(eq(screeningRecords.clinicId, clinicId), inArray(screeningRecords.patientId, patientIds)));
  const sorted = [...patientIds].sort();
  await appendAudit(db, {
    actor,
    clinicId,
    action: 'screening.read',
    objectType: 'patient-page',
    objectId: `${sorted[0]}..${sorted[sorted.length - 1]}`,
    outcome: 'success',
  });
  for (const row of rows) {
    let record: ScreeningRecord;
    try {
      record = parseJson(
        cipher.decrypt(row.recordEnc, where(clinicId, row.id)),
        `screening record ${row.id}`,
      ) as ScreeningRecord;
    } catch (error) {
      if (!(error instanceof DecryptionError || error instanceof JsonFileError)) throw error;
      result.unreadable.add(row.patientId);
      continue;
    }
    const patient = result.latest.get(row.patientId) ?? { screenings: [], exclusions: [] };
    if (record.status === 'exclusion')
      patient.exclusions.push({ test: record.test, date: record.performedOn });
    else
      patient.screenings.push({
        test: record.test,
        date: record.performedOn,
        status: record.status ?? 'done',
      });
    result.latest.set(row.patientId, patient);
  }
  for (const patientId of result.unreadable) {
    await appendAudit(db, {
      actor,
      clinicId,
      action: 'screening.read',
      objectType: 'patient',
      objectId: patientId,
      outcome: 'failure',
    });
  }
  return result;
}
