import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { apiKeys } from '../schema';
import type { Queryable } from '../tenant';

export type ApiKeyRow = typeof apiKeys.$inferSelect;

export async function insertApiKey(
  db: Queryable,
  values: { clinicId: string; name: string; prefix: string; keyHash: string; scopes: string[] },
): Promise<ApiKeyRow> {
  const [row] = await db.insert(apiKeys).values(values).returning();
  return row!;
}

export function listApiKeys(db: Queryable, clinicId: string): Promise<ApiKeyRow[]> {
  return db.select().from(apiKeys).where(eq(apiKeys.clinicId, clinicId)).orderBy(asc(apiKeys.createdAt));
}

/** Whether a key of this clinic was revoked now (false: no such key, or revoked before). */
export async function revokeApiKey(db: Queryable, clinicId: string, id: string): Promise<boolean> {
  const rows = await db
    .update(apiKeys)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiKeys.clinicId, clinicId), eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  return rows.length > 0;
}

export interface KeyByPrefix {
  id: string;
  clinicId: string;
  keyHash: string;
  scopes: string[];
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

/** Before the clinic is known: through a function that shows this one row whatever the clinic. */
export async function apiKeyByPrefix(db: Queryable, prefix: string): Promise<KeyByPrefix | undefined> {
  const [row] = await db.execute<{
    id: string;
    clinic_id: string;
    key_hash: string;
    scopes: string[];
    revoked_at: string | null;
    last_used_at: string | null;
  }>(sql`select * from api_key_by_prefix(${prefix})`);
  if (!row) return undefined;
  return {
    id: row.id,
    clinicId: row.clinic_id,
    keyHash: row.key_hash,
    scopes: row.scopes,
    revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
    lastUsedAt: row.last_used_at === null ? null : new Date(row.last_used_at),
  };
}

export async function recordApiKeyUse(db: Queryable, clinicId: string, id: string): Promise<void> {
  await db
    .update(apiKeys)
    .set({ lastUsedAt: new Date() })
    .where(and(eq(apiKeys.clinicId, clinicId), eq(apiKeys.id, id)));
}
