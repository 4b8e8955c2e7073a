import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres, { type Sql } from 'postgres';
import * as schema from './schema';

export type Database = PostgresJsDatabase<typeof schema>;

export interface DatabaseHandle {
  db: Database;
  close: () => Promise<void>;
}

const migrationsFolder = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/** The restricted role every application connection runs as; row-level security applies to it. */
export const APP_ROLE = 'carebell_app';

/**
 * Bounds on every application statement, so a stalled query cannot hold an activity past its own timeout
 * while Temporal starts another attempt: no statement runs longer than the shortest activity timeout
 * (journey steps: 1 minute), a lock is waited for briefly, and a transaction left idle is ended.
 */
export const APP_TIMEOUTS = { statementMs: 30_000, lockMs: 10_000, idleInTransactionMs: 60_000 };

/**
 * `app` connections (the default) run as carebell_app and see a clinic's rows only inside withClinic().
 * Their URL should log in as carebell_app itself (or a member of it): then there is no more privileged
 * role to return to. `owner` connections are for operator jobs that span clinics (key rotation, audit);
 * they declare it with carebell.all_clinics, without which row-level security shows them nothing either.
 */
export function connectDatabase(
  url: string,
  options: { max?: number; as?: 'app' | 'owner'; timeouts?: typeof APP_TIMEOUTS } = {},
): DatabaseHandle {
  const timeouts = options.timeouts ?? APP_TIMEOUTS;
  const sql = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    connection:
      options.as === 'owner'
        ? { 'carebell.all_clinics': 'on' }
        : {
            role: APP_ROLE,
            // Milliseconds, PostgreSQL's unit for these settings.
            statement_timeout: timeouts.statementMs,
            lock_timeout: timeouts.lockMs,
            idle_in_transaction_session_timeout: timeouts.idleInTransactionMs,
          },
  });
  const db = drizzle(preparing(sql), { schema });
  return {
    db,
    close: () => {
      closed.add(db);
      return sql.end({ timeout: 5 });
    },
  };
}

type UnsafeOptions = NonNullable<Parameters<Sql['unsafe']>[2]>;

/** Beyond this many parameters a statement is a bulk write whose text changes with its row count. */
const MAX_PREPARED_PARAMETERS = 64;

/**
 * drizzle asks postgres.js not to prepare its statements (unless named), and postgres.js then sends each
 * one with parameters in two round trips, describing it first, and holds the statements issued after it
 * until it is answered: a pipelined batch ran one statement at a time. Prepared, a statement is described
 * once per connection and then bound and executed with the others in one write. Bulk writes stay
 * unprepared: their text varies with their size and each would stay on the connection. `?prepare=false`
 * in the URL still turns preparing off (PgBouncer before 1.21 in transaction mode).
 */
function preparing(client: Sql): Sql {
  return new Proxy(client, {
    get(target, key) {
      if (key === 'unsafe') {
        return (query: string, parameters: unknown[] = [], options: UnsafeOptions = {}) =>
          target.unsafe(query, parameters as never, {
            ...options,
            prepare: options.prepare || parameters.length <= MAX_PREPARED_PARAMETERS,
          });
      }
      if (key === 'reserve') return async () => preparing(await target.reserve());
      if (key === 'begin') {
        return (...args: unknown[]) => {
          const work = args.pop() as (tx: Sql) => unknown;
          return (target.begin as (...a: unknown[]) => unknown)(...args, (tx: Sql) => work(preparing(tx)));
        };
      }
      return Reflect.get(target, key) as unknown;
    },
  });
}

const closed = new WeakSet<Database>();
/**
 * Whether the handle was closed: postgres.js refuses a closed client's queries, but a connection reserved
 * from it (db/tenant.ts) would be waited for forever.
 */
export const isClosed = (db: Database) => closed.has(db);

/** Applies committed migrations; an advisory lock keeps several processes starting at once from racing. */
export async function migrateDatabase(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql`select pg_advisory_lock(hashtext('carebell.migrate'))`;
    await migrate(drizzle(sql), { migrationsFolder });
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Lets carebell_app log in with `password` (the embedded default, which owns its cluster) and returns the
 * application's URL: the owner's with carebell_app's credentials.
 */
export async function provisionAppLogin(ownerUrl: string, password: string): Promise<string> {
  const sql = postgres(ownerUrl, { max: 1, onnotice: () => {} });
  try {
    // ALTER ROLE takes no parameters; format() quotes the password as a literal.
    const [statement] = await sql<{ text: string }[]>`
      select format('ALTER ROLE %I WITH LOGIN PASSWORD %L', ${APP_ROLE}::text, ${password}::text) as text`;
    await sql.unsafe(statement!.text);
  } finally {
    await sql.end({ timeout: 5 });
  }
  const url = new URL(ownerUrl);
  url.username = APP_ROLE;
  url.password = password;
  return url.toString();
}
