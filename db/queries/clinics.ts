import { eq } from 'drizzle-orm';
import { clinics, type Clinic } from '../schema';
import { assertTimeZone } from '../../rules/time';
import type { ClinicSettings } from '../../journeys/clinic-settings';
import type { Queryable } from '../tenant';

export async function insertClinic(
  db: Queryable,
  values: Omit<typeof clinics.$inferInsert, 'createdAt'>,
): Promise<Clinic> {
  assertTimeZone('timeZone', values.timeZone);
  const [clinic] = await db.insert(clinics).values(values).returning();
  return clinic!;
}

export async function setClinicSettings(db: Queryable, clinicId: string, settings: ClinicSettings) {
  await db.update(clinics).set({ settings }).where(eq(clinics.id, clinicId));
}

export async function getClinic(db: Queryable, clinicId: string): Promise<Clinic | undefined> {
  const [clinic] = await db.select().from(clinics).where(eq(clinics.id, clinicId));
  return clinic;
}
