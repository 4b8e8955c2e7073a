import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { FieldCipher } from '../../security/field-cipher';
import { importJobs, type IMPORT_KINDS } from '../schema';
import type { Queryable } from '../tenant';

export type ImportJob = typeof importJobs.$inferSelect;
export type ImportKind = (typeof IMPORT_KINDS)[number];

/** The job for this upload: a new one, or the one the same bytes made before (`created` false). */
export async function createImportJob(
  db: Queryable,
  cipher: FieldCipher,
  job: { clinicId: string; kind: ImportKind; content: Buffer; createdBy: string },
): Promise<{ job: ImportJob; created: boolean }> {
  const contentHash = cipher.blindIndex(
    'import',
    job.clinicId,
    `${job.kind}|${job.content.toString('base64')}`,
  );
  const id = randomUUID();
  const [created] = await db
    .insert(importJobs)
    .values({
      id,
      clinicId: job.clinicId,
      kind: job.kind,
      contentHash,
      contentEnc: cipher.encrypt(job.content.toString('base64'), {
        clinicId: job.clinicId,
        table: 'import_jobs',
        column: 'content_enc',
        rowId: id,
      }),
      createdBy: job.createdBy,
    })
    .onConflictDoNothing()
    .returning();
  if (created) return { job: created, created: true };
  const [existing] = await db
    .select()
    .from(importJobs)
    .where(
      and(
        eq(importJobs.clinicId, job.clinicId),
        eq(importJobs.kind, job.kind),
        eq(importJobs.contentHash, contentHash),
      ),
    );
  return { job: existing!, created: false };
}

export async function getImportJob(
  db: Queryable,
  clinicId: string,
  id: string,
): Promise<ImportJob | undefined> {
  const [row] = await db
    .select()
    .from(importJobs)
    .where(and(eq(importJobs.clinicId, clinicId), eq(importJobs.id, id)));
  return row;
}

export function importContent(cipher: FieldCipher, job: ImportJob): Buffer | undefined {
  if (job.contentEnc === null) return undefined;
  const base64 = cipher.decrypt(job.contentEnc, {
    clinicId: job.clinicId,
    table: 'import_jobs',
    column: 'content_enc',
    rowId: job.id,
  });
  return Buffer.from(base64, 'base64');
}

export interface ImportProgress {
  processed: number;
  succeeded: number;
  failed: number;
  skipped: number;
  results: unknown[];
  skippedTypes?: Record<string, number>;
  total?: number;
}

/** Adds one batch's outcomes to the job; `processed` is where a retried job resumes. */
export async function recordImportProgress(
  db: Queryable,
  clinicId: string,
  id: string,
  batch: ImportProgress,
): Promise<void> {
  await db
    .update(importJobs)
    .set({
      status: 'running',
      processed: sql`${importJobs.processed} + ${batch.processed}`,
      succeeded: sql`${importJobs.succeeded} + ${batch.succeeded}`,
      failed: sql`${importJobs.failed} + ${batch.failed}`,
      skipped: sql`${importJobs.skipped} + ${batch.skipped}`,
      results: sql`${importJobs.results} || ${JSON.stringify(batch.results)}::jsonb`,
      ...(batch.skippedTypes ? { skippedTypes: batch.skippedTypes } : {}),
      ...(batch.total === undefined ? {} : { total: batch.total }),
    })
    .where(and(eq(importJobs.clinicId, clinicId), eq(importJobs.id, id)));
}

/** Done (or failed as a whole, e.g. an unreadable header): the upload itself is no longer kept. */
export async function finishImportJob(
  db: Queryable,
  clinicId: string,
  id: string,
  outcome: { status: 'done' } | { status: 'failed'; error: string },
): Promise<void> {
  await db
    .update(importJobs)
    .set({
      status: outcome.status,
      error: outcome.status === 'failed' ? outcome.error : null,
      contentEnc: null,
      finishedAt: new Date(),
    })
    .where(and(eq(importJobs.clinicId, clinicId), eq(importJobs.id, id)));
}
