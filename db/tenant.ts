import { sql } from 'drizzle-orm';
import type { Database } from './client';

export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];
/** What query functions accept: a clinic-scoped transaction (or, for owner jobs, the database). */
export type Queryable = Database | Transaction;

/**
 * Runs `work` in a transaction scoped to one clinic: row-level security shows and accepts only that
 * clinic's rows. Query functions also filter by clinic themselves; this is the second, independent wall.
 *
 * With `signal` (an activity's cancellation), an abort cancels the statement running in PostgreSQL, so a
 * cancelled or timed-out activity stops its query instead of leaving it to run beside the next attempt.
 */
export async function withClinic<T>(
  db: Database,
  clinicId: string,
  work: (tx: Transaction) => Promise<T>,
  options: { signal?: AbortSignal } = {},
): Promise<T> {
  const { signal } = options;
  if (!signal) {
    return db.transaction(async (tx) => {
      // Sent with the work's first statements instead of a round trip before them: statements on the
      // transaction's one connection run in the order they are issued, and calling then() issues this one
      // now. Should that ever not hold, the work sees no rows of any clinic (the policies fail closed).
      const scoped = tx
        .execute(sql`select set_config('carebell.clinic_id', ${clinicId}, true)`)
        .then(() => undefined);
      const [, result] = await Promise.all([scoped, work(tx)]);
      return result;
    });
  }
  signal.throwIfAborted();
  try {
    return await db.transaction(async (tx) => {
      const [backend] = await tx.execute<{ pid: number }>(
        sql`select set_config('carebell.clinic_id', ${clinicId}, true), pg_backend_pid() as pid`,
      );
      // Only while this transaction holds the connection: afterwards it may serve someone else.
      let holding = true;
      const cancel = () => {
        if (holding) void db.execute(sql`select pg_cancel_backend(${backend!.pid})`).catch(() => undefined);
      };
      signal.addEventListener('abort', cancel, { once: true });
      try {
        return await work(tx);
      } finally {
        holding = false;
        signal.removeEventListener('abort', cancel);
      }
    });
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw error;
  }
}
