import { randomUUID } from 'node:crypto';
import { and, desc, eq, inArray } from 'drizzle-orm';
import type { FieldCipher } from '../../security/field-cipher';
import type { Category, Channel } from '../../domain/messaging';
import { consents } from '../schema';
import type { Queryable } from '../tenant';
import { appendAudit } from './audit';

/** The latest decision per (channel, category); history stays in the table, never overwritten. */
export async function latestConsents(
  db: Queryable,
  clinicId: string,
  patientId: string,
): Promise<Map<string, boolean>> {
  const rows = await db
    .selectDistinctOn([consents.channel, consents.category], {
      channel: consents.channel,
      category: consents.category,
      granted: consents.granted,
    })
    .from(consents)
    .where(and(eq(consents.clinicId, clinicId), eq(consents.patientId, patientId)))
    .orderBy(consents.channel, consents.category, desc(consents.recordedAt));
  return new Map(rows.map((row) => [`${row.channel}/${row.category}`, row.granted]));
}

/** Marketing needs an explicit opt-in; transactional messages need only the absence of an opt-out. */
export function consentAllows(latest: Map<string, boolean>, channel: Channel, category: Category): boolean {
  const decision = latest.get(`${channel}/${category}`);
  return category === 'marketing' ? decision === true : decision !== false;
}

export async function recordConsent(
  db: Queryable,
  cipher: FieldCipher,
  entry: {
    clinicId: string;
    patientId: string;
    channel: Channel;
    category: Category;
    granted: boolean;
    source: string;
    evidence?: string;
    /** When the patient decided; unset, now. */
    recordedAt?: Date;
    /** Who recorded it, for the audit log. */
    actor?: string;
  },
): Promise<void> {
  const id = randomUUID();
  await db.insert(consents).values({
    id,
    clinicId: entry.clinicId,
    patientId: entry.patientId,
    channel: entry.channel,
    category: entry.category,
    granted: entry.granted,
    source: entry.source,
    evidenceEnc:
      entry.evidence === undefined
        ? null
        : cipher.encrypt(entry.evidence, {
            clinicId: entry.clinicId,
            table: 'consents',
            column: 'evidence_enc',
            rowId: id,
          }),
    recordedAt: entry.recordedAt,
  });
  if (entry.actor)
    await appendAudit(db, {
      actor: entry.actor,
      clinicId: entry.clinicId,
      action: 'consent.record',
      objectType: 'patient',
      objectId: entry.patientId,
      outcome: 'success',
    });
}

/** Of `patientIds`, those whose latest marketing decision on some channel is an opt-in. */
export async function marketingOptedIn(
  db: Queryable,
  clinicId: string,
  patientIds: string[],
): Promise<Set<string>> {
  if (patientIds.length === 0) return new Set();
  const rows = await db
    .selectDistinctOn([consents.patientId, consents.channel], {
      patientId: consents.patientId,
      granted: consents.granted,
    })
    .from(consents)
    .where(
      and(
        eq(consents.clinicId, clinicId),
        eq(consents.category, 'marketing'),
        inArray(consents.patientId, patientIds),
      ),
    )
    .orderBy(consents.patientId, consents.channel, desc(consents.recordedAt));
  return new Set(rows.filter((row) => row.granted).map((row) => row.patientId));
}

export interface ConsentRecord {
  channel: Channel;
  category: Category;
  granted: boolean;
  source: string;
  evidence: Record<string, unknown>;
  recordedAt: Date;
}

/** The patient's whole consent history, newest first, evidence decrypted. */
export async function consentHistory(
  db: Queryable,
  cipher: FieldCipher,
  clinicId: string,
  patientId: string,
): Promise<ConsentRecord[]> {
  const rows = await db
    .select()
    .from(consents)
    .where(and(eq(consents.clinicId, clinicId), eq(consents.patientId, patientId)))
    .orderBy(desc(consents.recordedAt));
  return rows.map((row) => {
    const evidence =
      row.evidenceEnc === null
        ? undefined
        : cipher.decrypt(row.evidenceEnc, {
            clinicId,
            table: 'consents',
            column: 'evidence_enc',
            rowId: row.id,
          });
    return {
      channel: row.channel,
      category: row.category,
      granted: row.granted,
      source: row.source,
      evidence: evidenceObject(evidence),
      recordedAt: row.recordedAt,
    };
  });
}

/** Evidence is JSON since the API; older rows hold a sentence. */
function evidenceObject(evidence: string | undefined): Record<string, unknown> {
  if (evidence === undefined) return {};
  try {
    const parsed: unknown = JSON.parse(evidence);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // a sentence
  }
  return { note: evidence };
}
