// A patient's care facts (journeys/care.ts): one encrypted JSON value, read and rewritten whole inside the
// caller's transaction, with the row locked so that two events for one patient cannot lose each other's change.
import { and, eq } from 'drizzle-orm';
import { careFacts, type CareFacts } from '../../journeys/care';
import type { FieldCipher } from '../../security/field-cipher';
import { patients } from '../schema';
import type { Queryable } from '../tenant';
import { appendAudit } from './audit';

const where = (clinicId: string, patientId: string) => ({
  clinicId,
  table: 'patients',
  column: 'care_enc',
  rowId: patientId,
});

/** A patient's stored care facts; none stored reads as none known. */
export function decryptCare(
  cipher: FieldCipher,
  clinicId: string,
  patientId: string,
  careEnc: string | null,
): CareFacts {
  return careEnc === null
    ? {}
    : careFacts.parse(JSON.parse(cipher.decrypt(careEnc, where(clinicId, patientId))));
}

/** A patient's care facts (audited as a read), or undefined when there is no such patient. */
export async function readCare(
  db: Queryable,
  cipher: FieldCipher,
  actor: string,
  clinicId: string,
  patientId: string,
): Promise<CareFacts | undefined> {
  const [row] = await db
    .select({ careEnc: patients.careEnc })
    .from(patients)
    .where(and(eq(patients.clinicId, clinicId), eq(patients.id, patientId)));
  if (!row) return undefined;
  await appendAudit(db, {
    actor,
    clinicId,
    action: 'patient.read-care',
    objectType: 'patient',
    objectId: patientId,
    outcome: 'success',
  });
  return decryptCare(cipher, clinicId, patientId, row.careEnc);
}

export async function updateCare(
  db: Queryable,
  cipher: FieldCipher,
  actor: string,
  clinicId: string,
  patientId: string,
  change: (care: CareFacts) => CareFacts,
): Promise<void> {
  const [row] = await db
    .select({ careEnc: patients.careEnc })
    .from(patients)
    .where(and(eq(patients.clinicId, clinicId), eq(patients.id, patientId)))
    .for('update');
  if (!row) return;
  const care = decryptCare(cipher, clinicId, patientId, row.careEnc);
  const careEnc = cipher.encrypt(JSON.stringify(careFacts.parse(change(care))), where(clinicId, patientId));
  await db
    .update(patients)
    .set({ careEnc })
    .where(and(eq(patients.clinicId, clinicId), eq(patients.id, patientId)));
  await appendAudit(db, {
    actor,
    clinicId,
    action: 'patient.update-care',
    objectType: 'patient',
    objectId: patientId,
    outcome: 'success',
  });
}
