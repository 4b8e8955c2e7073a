import { createHash } from 'node:crypto';
import { and, asc, desc, eq, gt, sql } from 'drizzle-orm';
import type { Queryable } from '../tenant';
import { auditLog } from '../schema';

export interface AuditEntry {
  /** Who acted: `worker`, `cli:<command>`, `operator:<name>`, `api-key:<prefix>`. */
  actor: string;
  clinicId: string | null;
  /** `<object>.<verb>`, e.g. patient.read, patient.write, message.send. */
  action: string;
  objectType: string;
  objectId?: string | null;
  outcome: 'success' | 'failure' | 'denied';
}

export async function appendAudit(db: Queryable, entry: AuditEntry): Promise<void> {
  await db.execute(
    sql`select audit_append(${entry.actor}, ${entry.clinicId}::uuid, ${entry.action}, ${entry.objectType}, ${entry.objectId ?? null}, ${entry.outcome})`,
  );
}

/**
 * Several entries in one statement: the chain's lock is taken once, and one round trip holds it instead
 * of one per entry. Rows are chained in the order given, exactly as that many `appendAudit` calls would.
 */
export async function appendAudits(db: Queryable, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  if (entries.length === 1) return appendAudit(db, entries[0]!);
  const rows = entries.map((entry) => ({ ...entry, objectId: entry.objectId ?? null }));
  // jsonb_to_recordset yields the rows in the array's order and a plain select calls audit_append once per
  // row as it goes, so the chain links them in the order given.
  await db.execute(
    sql`select audit_append(e.actor, e."clinicId", e.action, e."objectType", e."objectId", e.outcome)
        from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
          as e(actor text, "clinicId" uuid, action text, "objectType" text, "objectId" text, outcome text)`,
  );
}

const GENESIS = '0'.repeat(64);

export interface ChainReport {
  rows: number;
  /** The last row: its hash, kept somewhere else, later proves that no row up to it was cut off. */
  head?: { id: number; hash: string };
  /** The first row whose stored hash or link does not match its contents, if any. */
  broken?: { id: number; reason: string };
}

/**
 * Recomputes every link of the chain; needs an owner connection (it spans clinics). A chain cut short
 * still links up, so `expectHead` (a head hash recorded earlier, outside the database) must be found in it.
 */
export async function verifyAuditChain(
  db: Queryable,
  options: { expectHead?: string; onProgress?: (rows: number) => void } = {},
): Promise<ChainReport> {
  let previous = GENESIS;
  let rows = 0;
  let lastId = 0;
  let anchorFound = options.expectHead === undefined;
  for (;;) {
    const batch = await db
      .select()
      .from(auditLog)
      .where(gt(auditLog.id, lastId))
      .orderBy(asc(auditLog.id))
      .limit(5000);
    if (batch.length === 0) break;
    for (const row of batch) {
      if (row.prevHash !== previous)
        return { rows, broken: { id: row.id, reason: 'does not link to the row before it' } };
      if (hashOf(row) !== row.hash)
        return { rows, broken: { id: row.id, reason: 'contents do not match its hash' } };
      if (row.hash === options.expectHead) anchorFound = true;
      previous = row.hash;
      rows++;
      lastId = row.id;
    }
    options.onProgress?.(rows);
  }
  const head = rows > 0 ? { id: lastId, hash: previous } : undefined;
  if (!anchorFound)
    return {
      rows,
      head,
      broken: {
        id: lastId + 1,
        reason: `the expected head ${options.expectHead} is not in the chain: rows were cut from its end`,
      },
    };
  return { rows, head };
}

function hashOf(row: typeof auditLog.$inferSelect): string {
  const canonical = [
    row.prevHash,
    String(row.id),
    String(row.at.getTime()),
    row.actor,
    row.clinicId ?? '',
    row.action,
    row.objectType,
    row.objectId ?? '',
    row.outcome,
  ].join('|');
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/** What happened to one object (a patient): who read, changed or looked it up, newest first. */
export function auditTrail(db: Queryable, clinicId: string, objectId: string, limit = 200) {
  return db
    .select({ at: auditLog.at, actor: auditLog.actor, action: auditLog.action, outcome: auditLog.outcome })
    .from(auditLog)
    .where(and(eq(auditLog.clinicId, clinicId), eq(auditLog.objectId, objectId)))
    .orderBy(desc(auditLog.id))
    .limit(limit);
}
