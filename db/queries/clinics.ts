import { eq } from 'drizzle-orm';
import type { Database } from '../client';
import { clinics, type Clinic } from '../schema';

export async function findClinicByName(db: Database, name: string): Promise<Clinic | undefined> {
  const [clinic] = await db.select().from(clinics).where(eq(clinics.name, name)).limit(1);
  return clinic;
}

export async function insertClinic(
  db: Database,
  values: { name: string; timeZone: string },
): Promise<Clinic> {
  const [clinic] = await db.insert(clinics).values(values).returning();
  return clinic!;
}

export async function getClinic(db: Database, clinicId: string): Promise<Clinic | undefined> {
  const [clinic] = await db.select().from(clinics).where(eq(clinics.id, clinicId));
  return clinic;
}
