import { sql } from 'drizzle-orm';
import type { PgDialect } from 'drizzle-orm/pg-core';
import { PostgresJsSession, PostgresJsTransaction } from 'drizzle-orm/postgres-js/session';
import type { Sql } from 'postgres';
import { isClosed, type Database } from './client';

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
    return inTransaction(db, async (tx) => {
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
    return await inTransaction(db, async (tx) => {
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

/** What drizzle's postgres.js session keeps, to build its transaction the way db.transaction() does. */
interface SessionParts {
  client: Sql;
  dialect: PgDialect;
  schema: ConstructorParameters<typeof PostgresJsSession>[2];
  options: ConstructorParameters<typeof PostgresJsSession>[3];
}

/**
 * drizzle's transaction, with BEGIN sent ahead of the work's first statements rather than answered
 * before them (postgres.js's begin() waits for it): one round trip fewer in every transaction. The
 * connection is reserved for the transaction, so its statements run in the order they are issued.
 */
async function inTransaction<T>(db: Database, work: (tx: Transaction) => Promise<T>): Promise<T> {
  if (isClosed(db)) throw new Error('the database connection was closed');
  const { client, dialect, schema, options } = (db as unknown as { session: SessionParts }).session;
  const reserved = await client.reserve();
  try {
    // The reserved connection serves as postgres.js's transaction handle, less savepoints (not used).
    const session = new PostgresJsSession(
      reserved,
      dialect,
      schema,
      options,
    ) as unknown as ConstructorParameters<typeof PostgresJsTransaction>[1];
    const tx = new PostgresJsTransaction(dialect, session, schema) as unknown as Transaction;
    const [begun, done] = await Promise.allSettled([reserved`begin`.execute(), work(tx)]);
    if (begun.status === 'rejected' || done.status === 'rejected') {
      await reserved`rollback`.catch(() => undefined);
      throw begun.status === 'rejected' ? begun.reason : (done as PromiseRejectedResult).reason;
    }
    // A statement whose failure the work caught still aborted the transaction: PostgreSQL then answers
    // COMMIT by rolling back, and nothing the work did may be taken as written.
    const committed = await reserved`commit`;
    if (committed.command !== 'COMMIT')
      throw new Error('the transaction was rolled back at commit: one of its statements had failed');
    return done.value;
  } finally {
    reserved.release();
  }
}
