import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
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
 * `app` connections (the default) run as carebell_app and see a clinic's rows only inside withClinic().
 * `owner` connections are for migrations and operator jobs that span clinics (key rotation, audit).
 */
export function connectDatabase(
  url: string,
  options: { max?: number; as?: 'app' | 'owner' } = {},
): DatabaseHandle {
  const sql = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    connection: options.as === 'owner' ? {} : { role: APP_ROLE },
  });
  return { db: drizzle(sql, { schema }), close: () => sql.end({ timeout: 5 }) };
}

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
