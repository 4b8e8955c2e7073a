import { and, asc, eq } from 'drizzle-orm';
import type { Database } from '../client';
import { contactPoints, patients, type Channel, type ContactPoint, type Patient } from '../schema';

export interface NewPatient {
  clinicId: string;
  name: string;
  dateOfBirth: string;
  language: string;
  timeZone: string;
  preferredChannel: Channel;
  contacts: { channel: Channel; address: string }[];
}

export type PatientWithContacts = Patient & { contacts: ContactPoint[] };

export async function insertPatient(db: Database, values: NewPatient): Promise<PatientWithContacts> {
  return db.transaction(async (tx) => {
    const { contacts, ...patient } = values;
    const [row] = await tx.insert(patients).values(patient).returning();
    const inserted = contacts.length
      ? await tx
          .insert(contactPoints)
          .values(
            contacts.map((contact, rank) => ({
              ...contact,
              rank,
              clinicId: values.clinicId,
              patientId: row!.id,
            })),
          )
          .returning()
      : [];
    return { ...row!, contacts: inserted };
  });
}

export async function findPatientIdByContact(
  db: Database,
  clinicId: string,
  channel: Channel,
  address: string,
): Promise<string | undefined> {
  const [row] = await db
    .select({ patientId: contactPoints.patientId })
    .from(contactPoints)
    .where(
      and(
        eq(contactPoints.clinicId, clinicId),
        eq(contactPoints.channel, channel),
        eq(contactPoints.address, address),
      ),
    )
    .limit(1);
  return row?.patientId;
}

export async function getPatientWithContacts(
  db: Database,
  clinicId: string,
  patientId: string,
): Promise<PatientWithContacts | undefined> {
  const [patient] = await db
    .select()
    .from(patients)
    .where(and(eq(patients.clinicId, clinicId), eq(patients.id, patientId)));
  if (!patient) return undefined;
  const contacts = await db
    .select()
    .from(contactPoints)
    .where(and(eq(contactPoints.clinicId, clinicId), eq(contactPoints.patientId, patientId)))
    .orderBy(asc(contactPoints.rank));
  return { ...patient, contacts };
}

export async function updatePatientPreferences(
  db: Database,
  clinicId: string,
  patientId: string,
  values: Pick<Patient, 'name' | 'dateOfBirth' | 'language' | 'timeZone' | 'preferredChannel'>,
): Promise<void> {
  await db
    .update(patients)
    .set(values)
    .where(and(eq(patients.clinicId, clinicId), eq(patients.id, patientId)));
}
