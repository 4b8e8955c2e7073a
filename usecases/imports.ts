// Bulk imports: a clinic's CSV of patients, an EHR's FHIR bundle. The upload is stored (encrypted) and
// answered at once with a job; a workflow works through it in batches, recording each batch's outcomes,
// so a crash resumes where it stopped and a bad row or entry never costs the good ones. Everything applied
// is idempotent (patients by MRN, events by their ids), so a batch repeated after a crash changes nothing.
import {
  createImportJob,
  finishImportJob,
  getImportJob,
  importContent,
  recordImportProgress,
  type ImportJob,
  type ImportKind,
} from '../db/queries/import-jobs';
import { findPatientIdByExternalId } from '../db/queries/patients';
import { withClinic } from '../db/tenant';
import { CarebellError } from '../domain/errors';
import { importWorkflowId } from '../domain/import';
import { mapFhirInput, type MappedEntry } from '../fhir/map-bundle';
import { CsvHeaderError, CsvSyntaxError, parsePatientsCsv, type CsvRow } from '../imports/patients-csv';
import { handleEvent } from './handle-event';
import type { EnrollmentDeps } from './enroll';
import { notifyJourneys, recordConsentIn, upsertPatientIn } from './patients';

const BATCH = 100;

export interface ImportResult {
  /** CSV: the line the row starts on; FHIR: the entry's position in the bundle. */
  line?: number;
  index?: number;
  outcome: 'created' | 'updated' | 'applied' | 'skipped' | 'failed';
  /** FHIR batch-response status, e.g. `201 Created`. */
  status: string;
  id?: string;
  problem?: string;
}

/** Stores an upload and starts (or finds) the workflow that imports it. */
export async function submitImport(
  deps: EnrollmentDeps,
  clinicId: string,
  kind: ImportKind,
  content: Buffer,
  actor: string,
): Promise<{ job: ImportJob; created: boolean }> {
  const submitted = await withClinic(deps.db, clinicId, (tx) =>
    createImportJob(tx, deps.cipher, { clinicId, kind, content, createdBy: actor }),
  );
  if (submitted.created || submitted.job.status !== 'done')
    await deps.client.workflow.start('importWorkflow', {
      workflowId: importWorkflowId(submitted.job.id),
      taskQueue: deps.taskQueue,
      args: [{ clinicId, jobId: submitted.job.id }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
    });
  return submitted;
}

/**
 * Works through a job from where it stopped. `heartbeat` is called after every batch (the activity's
 * liveness and cancellation).
 */
export async function runImport(
  deps: EnrollmentDeps,
  clinicId: string,
  jobId: string,
  heartbeat: (processed: number) => void = () => undefined,
): Promise<void> {
  const job = await withClinic(deps.db, clinicId, (tx) => getImportJob(tx, clinicId, jobId));
  if (!job || job.status === 'done' || job.status === 'failed') return;
  const content = importContent(deps.cipher, job);
  if (!content) return;
  const actor = job.createdBy;
  const record = (
    batch: ImportResult[],
    extra: { total?: number; skippedTypes?: Record<string, number> } = {},
  ) =>
    withClinic(deps.db, clinicId, (tx) =>
      recordImportProgress(tx, clinicId, jobId, {
        processed: batch.length,
        succeeded: batch.filter((result) => ['created', 'updated', 'applied'].includes(result.outcome))
          .length,
        failed: batch.filter((result) => result.outcome === 'failed').length,
        skipped: batch.filter((result) => result.outcome === 'skipped').length,
        results: batch,
        ...extra,
      }),
    );
  try {
    const run = { deps, clinicId, actor, content, done: job.processed, record, heartbeat };
    await (job.kind === 'patients-csv' ? importCsv(run) : importFhir(run));
    await withClinic(deps.db, clinicId, (tx) => finishImportJob(tx, clinicId, jobId, { status: 'done' }));
  } catch (error) {
    // The upload as a whole cannot be read (on): what was imported before stays, the rest is refused.
    if (!(
      error instanceof CsvHeaderError ||
      error instanceof CsvSyntaxError ||
      error instanceof UnreadableUpload
    ))
      throw error;
    await withClinic(deps.db, clinicId, (tx) =>
      finishImportJob(tx, clinicId, jobId, { status: 'failed', error: error.message }),
    );
  }
}

class UnreadableUpload extends Error {}

/** One attempt at a job: where it resumes, how it records a batch and shows it is alive. */
interface ImportRun {
  deps: EnrollmentDeps;
  clinicId: string;
  actor: string;
  content: Buffer;
  /** Rows or entries already recorded by earlier attempts. */
  done: number;
  record: (
    batch: ImportResult[],
    extra?: { total?: number; skippedTypes?: Record<string, number> },
  ) => Promise<void>;
  heartbeat: (processed: number) => void;
}

async function importCsv({ deps, clinicId, actor, content, done, record, heartbeat }: ImportRun) {
  let seen = 0;
  let batch: CsvRow[] = [];
  const flush = async () => {
    // A file names each patient once (repeats are refused), so its rows are independent.
    const results = await inGroups(
      batch,
      (row) => String(row.line),
      async (row): Promise<ImportResult> =>
        row.ok
          ? { line: row.line, ...(await applyPatient(deps, clinicId, actor, row.patient, row.consents)) }
          : {
              line: row.line,
              outcome: 'failed',
              status: '422 Unprocessable Entity',
              problem: row.problems.join('; '),
            },
    );
    batch = [];
    return results;
  };
  for await (const row of parsePatientsCsv(content, { consentSource: 'csv-import' })) {
    if (seen++ < done) continue;
    batch.push(row);
    if (batch.length === BATCH) {
      await record(await flush());
      heartbeat(seen);
    }
  }
  await record(await flush(), { total: seen });
}

/** One patient (and their consents) in one transaction: a bad one is refused whole. */
async function applyPatient(
  deps: EnrollmentDeps,
  clinicId: string,
  actor: string,
  patient: Parameters<typeof upsertPatientIn>[3],
  consents: Parameters<typeof recordConsentIn>[4][],
): Promise<Omit<ImportResult, 'line' | 'index'>> {
  try {
    const upserted = await withClinic(deps.db, clinicId, async (tx) => {
      const result = await upsertPatientIn(tx, deps, clinicId, patient, actor);
      for (const consent of consents) await recordConsentIn(tx, deps, clinicId, result.id, consent, actor);
      return result;
    });
    if (upserted.notify) await notifyJourneys(deps, clinicId, upserted.id, upserted.notify);
    return upserted.created
      ? { outcome: 'created', status: '201 Created', id: upserted.id }
      : { outcome: 'updated', status: '200 OK', id: upserted.id };
  } catch (error) {
    return failure(error);
  }
}

/** A refusal is this row's outcome; anything else (the database away) fails the batch, which is retried. */
function failure(error: unknown): Omit<ImportResult, 'line' | 'index'> {
  if (!(error instanceof CarebellError) || error.retryable) throw error;
  const status = error.type === 'PatientNotFound' ? '404 Not Found' : '422 Unprocessable Entity';
  return { outcome: 'failed', status, problem: error.message };
}

async function importFhir({ deps, clinicId, actor, content, done, record, heartbeat }: ImportRun) {
  let body: unknown;
  try {
    body = JSON.parse(content.toString('utf8'));
  } catch {
    throw new UnreadableUpload('the bundle is not JSON');
  }
  const mapped = mapFhirInput(body);
  if (!mapped.ok) throw new UnreadableUpload(mapped.problem);
  const skippedTypes: Record<string, number> = {};
  for (const entry of mapped.entries)
    if (entry.command.kind === 'skipped')
      skippedTypes[entry.command.resourceType] = (skippedTypes[entry.command.resourceType] ?? 0) + 1;
  // Batches in order (patients come first); inside a batch, entries about different patients at once, those
  // about one patient in order.
  for (let start = done; start < mapped.entries.length; start += BATCH) {
    const batch = mapped.entries.slice(start, start + BATCH);
    const results = await inGroups(batch, patientOf, async (entry) => ({
      index: entry.index,
      ...(await applyEntry(deps, clinicId, actor, entry)),
    }));
    await record(results, { total: mapped.entries.length, skippedTypes });
    heartbeat(start + batch.length);
  }
}

/** Which patient an entry is about, so entries about one patient are applied in order. */
function patientOf(entry: MappedEntry): string {
  const { command } = entry;
  if (command.kind === 'patient') return `mrn:${command.patient.externalId}`;
  if (command.kind === 'consent') return `mrn:${command.patientEhrId}`;
  if (command.kind === 'event')
    return 'id' in command.event.patient
      ? `id:${command.event.patient.id}`
      : `mrn:${command.event.patient.ehrId}`;
  return `entry:${entry.index}`;
}

/** How many entries are applied at once: enough to keep PostgreSQL and Temporal busy on a small machine. */
const CONCURRENCY = 8;

/**
 * Applies `items` with up to CONCURRENCY groups at once, the items of a group (same key) one after another,
 * and returns the results in the items' order.
 */
async function inGroups<T, R>(
  items: T[],
  keyOf: (item: T) => string,
  apply: (item: T) => Promise<R>,
): Promise<R[]> {
  const groups = new Map<string, number[]>();
  items.forEach((item, position) => {
    const key = keyOf(item);
    groups.set(key, [...(groups.get(key) ?? []), position]);
  });
  const results = new Array<R>(items.length);
  const queue = [...groups.values()];
  const worker = async () => {
    for (let group = queue.shift(); group; group = queue.shift())
      for (const position of group) results[position] = await apply(items[position]!);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
  return results;
}

async function applyEntry(
  deps: EnrollmentDeps,
  clinicId: string,
  actor: string,
  entry: MappedEntry,
): Promise<Omit<ImportResult, 'line' | 'index'>> {
  const { command } = entry;
  switch (command.kind) {
    case 'skipped':
      return { outcome: 'skipped', status: '200 OK', problem: command.reason };
    case 'invalid':
      return { outcome: 'failed', status: '422 Unprocessable Entity', problem: command.problem };
    case 'patient':
      return applyPatient(deps, clinicId, actor, command.patient, []);
    case 'consent':
      try {
        const id = await withClinic(deps.db, clinicId, async (tx) => {
          const patientId = await findPatientIdByExternalId(
            tx,
            deps.cipher,
            actor,
            clinicId,
            command.patientEhrId,
          );
          if (!patientId)
            throw new CarebellError('PatientNotFound', 'Consent.patient: no such patient in this clinic');
          await recordConsentIn(tx, deps, clinicId, patientId, command.consent, actor);
          return patientId;
        });
        if (!command.consent.granted) await notifyJourneys(deps, clinicId, id, command.consent.channel);
        return { outcome: 'applied', status: '201 Created', id };
      } catch (error) {
        return failure(error);
      }
    case 'event':
      try {
        const outcome = await handleEvent(deps, clinicId, command.event, actor);
        return { outcome: 'applied', status: '200 OK', id: outcome.patientId };
      } catch (error) {
        return failure(error);
      }
  }
}
