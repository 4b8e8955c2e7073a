// Re-encrypts every PHI value that is not yet under the newest key. Each batch commits on its own and the
// selection skips values already done, so an interrupted run simply continues where it stopped.
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { ENCRYPTED_COLUMNS } from '../db/queries/patients';
import type { FieldCipher } from './field-cipher';

export interface ReencryptProgress {
  table: string;
  column: string;
  done: number;
}

export interface ReencryptReport {
  keyId: string;
  columns: { table: string; column: string; reencrypted: number }[];
  total: number;
}

/** Rows not yet under the newest key; `owner` must be an owner connection (the job spans clinics). */
export async function countStale(owner: Database, cipher: FieldCipher): Promise<number> {
  let total = 0;
  for (const { table, column } of ENCRYPTED_COLUMNS) {
    const [row] = await owner.execute<{ count: string }>(
      sql`select count(*) as count from ${sql.identifier(table)} where ${sql.identifier(column)} is not null and ${sql.identifier(column)} not like ${currentPrefix(cipher)}`,
    );
    total += Number(row?.count ?? 0);
  }
  return total;
}

export async function reencryptAll(
  owner: Database,
  cipher: FieldCipher,
  onProgress: (progress: ReencryptProgress) => void,
  batchSize = 500,
): Promise<ReencryptReport> {
  const columns: ReencryptReport['columns'] = [];
  for (const { table, column } of ENCRYPTED_COLUMNS) {
    let done = 0;
    for (;;) {
      const batch = await owner.execute<{ id: string; clinic_id: string; value: string }>(
        sql`select id, clinic_id, ${sql.identifier(column)} as value from ${sql.identifier(table)}
            where ${sql.identifier(column)} is not null and ${sql.identifier(column)} not like ${currentPrefix(cipher)}
            order by id limit ${batchSize}`,
      );
      if (batch.length === 0) break;
      await owner.transaction(async (tx) => {
        for (const row of batch) {
          const context = { clinicId: row.clinic_id, table, column, rowId: row.id };
          const fresh = cipher.encrypt(cipher.decrypt(row.value, context), context);
          // Only if unchanged since it was read: a concurrent write already used the newest key.
          await tx.execute(
            sql`update ${sql.identifier(table)} set ${sql.identifier(column)} = ${fresh} where id = ${row.id} and ${sql.identifier(column)} = ${row.value}`,
          );
        }
      });
      done += batch.length;
      onProgress({ table, column, done });
    }
    columns.push({ table, column, reencrypted: done });
  }
  return {
    keyId: cipher.ring.current.id,
    columns,
    total: columns.reduce((sum, entry) => sum + entry.reencrypted, 0),
  };
}

const currentPrefix = (cipher: FieldCipher) => `v1:${cipher.ring.current.id}:%`;
