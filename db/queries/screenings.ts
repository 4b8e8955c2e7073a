// Screenings a patient has had. Which test and when are PHI: one encrypted value per record.
import { randomUUID } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import { normaliseSubject } from '../../domain/subject';
import { parseJson } from '../../lib/json-file';
import type { FieldCipher } from '../../security/field-cipher';
import { screeningRecords } from '../schema';
import type { Queryable } from '../tenant';

export interface ScreeningRecord {
  test: string;
  /** YYYY-MM-DD */
  performedOn: string;
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
      recordIndex: cipher.blindIndex('screening', clinicId, `${normalised.test}|${normalised.performedOn}`),
    })
    .onConflictDoNothing();
}

/** The latest date of each test, per patient: { patientId → { test → YYYY-MM-DD } }. */
export async function lastScreenings(
  db: Queryable,
  cipher: FieldCipher,
  clinicId: string,
  patientIds: string[],
): Promise<Map<string, Record<string, string>>> {
  const latest = new Map<string, Record<string, string>>();
  if (patientIds.length === 0) return latest;
  const rows = await db
    .select()
    .from(screeningRecords)
    .where(and(eq(screeningRecords.clinicId, clinicId), inArray(screeningRecords.patientId, patientIds)));
  for (const row of rows) {
    const record = parseJson(
      cipher.decrypt(row.recordEnc, where(clinicId, row.id)),
      `screening record ${row.id}`,
    ) as ScreeningRecord;
    const tests = latest.get(row.patientId) ?? {};
    if (!tests[record.test] || tests[record.test]! < record.performedOn)
      tests[record.test] = record.performedOn;
    latest.set(row.patientId, tests);
  }
  return latest;
}
