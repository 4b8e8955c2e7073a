import { sql } from 'drizzle-orm';
import type { Database } from './client';

export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];
/** What query functions accept: a clinic-scoped transaction (or, for owner jobs, the database). */
export type Queryable = Database | Transaction;

/**
 * Runs `work` in a transaction scoped to one clinic: row-level security shows and accepts only that
 * clinic's rows. Query functions also filter by clinic themselves; this is the second, independent wall.
 */
export function withClinic<T>(
  db: Database,
  clinicId: string,
  work: (tx: Transaction) => Promise<T>,
): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('carebell.clinic_id', ${clinicId}, true)`);
    return work(tx);
  });
}
