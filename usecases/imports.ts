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
import { findExistingPatientIdsByExternalId, findPatientIdByExternalId } from '../db/queries/patients';
import { rememberProcessedEvents } from '../db/queries/processed-events';
import { withClinic } from '../db/tenant';
import { CarebellError } from '../domain/errors';
import { importWorkflowId } from '../domain/import';
import { mapFhirInput, type MappedEntry } from '../fhir/map-bundle';
import { CsvHeaderError, CsvSyntaxError, parsePatientsCsv, type CsvRow } from '../imports/patients-csv';
import { handleEvent, type EventBatch } from './handle-event';
import { clinicJourneys, type EnrollmentDeps } from './enroll';
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
  const record = (batch: ImportResult[], { processedEvents = [], ...extra }: RecordExtra = {}) =>
    withClinic(deps.db, clinicId, async (tx) => {
      // With the progress, so that a batch counted as done has its events remembered as acted on.
      await rememberProcessedEvents(tx, clinicId, processedEvents);
      await recordImportProgress(tx, clinicId, jobId, {
        processed: batch.length,
        succeeded: batch.filter((result) => ['created', 'updated', 'applied'].includes(result.outcome))
          .length,
        failed: batch.filter((result) => result.outcome === 'failed').length,
        skipped: batch.filter((result) => result.outcome === 'skipped').length,
        results: batch,
        ...extra,
      });
    });
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

interface RecordExtra {
  total?: number;
  skippedTypes?: Record<string, number>;
  /** Keyed hashes of the events the batch acted on in full (see EventBatch). */
  processedEvents?: string[];
}

/** One attempt at a job: where it resumes, how it records a batch and shows it is alive. */
interface ImportRun {
  deps: EnrollmentDeps;
  clinicId: string;
  actor: string;
  content: Buffer;
  /** Rows or entries already recorded by earlier attempts. */
  done: number;
  record: (batch: ImportResult[], extra?: RecordExtra) => Promise<void>;
  heartbeat: (processed: number) => void;
}

async function importCsv({ deps, clinicId, actor, content, done, record, heartbeat }: ImportRun) {
  let seen = 0;
  let batch: CsvRow[] = [];
  const rows = new Slots(CONCURRENCY);
  const flush = async () => {
    // A file names each patient once (repeats are refused), so its rows are independent.
    const results = await Promise.all(
      batch.map((row) =>
        rows.use(async (): Promise<ImportResult> =>
          row.ok
            ? { line: row.line, ...(await applyPatient(deps, clinicId, actor, row.patient, row.consents)) }
            : {
                line: row.line,
                outcome: 'failed',
                status: '422 Unprocessable Entity',
                problem: row.problems.join('; '),
              },
        ),
      ),
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
  // Entries about different patients at once, those about one patient in order (patients come first in a
  // bundle), up to FHIR_CONCURRENCY at a time across two batches: the next batch's entries start while the
  // slowest of this one's finish, and each batch is recorded once all of its entries are done, in order,
  // with the events it acted on (a crash repeats the batches not recorded, which changes nothing).
  const scheduler = new EntryScheduler(FHIR_CONCURRENCY);
  const transactions = new Slots(FHIR_TRANSACTIONS);
  const actedOn = new Set<string>();
  let previous: Promise<void> = Promise.resolve();
  try {
    for (let start = done; start < mapped.entries.length; start += BATCH) {
      const entries = mapped.entries.slice(start, start + BATCH);
      const remembered: string[] = [];
      const batch: PreparedBatch = {
        ...(await prepareBatch(deps, clinicId, actor, entries)),
        actedOn,
        inTransaction: (work) => transactions.use(work),
        remember: (eventIndex) => {
          actedOn.add(eventIndex);
          remembered.push(eventIndex);
        },
      };
      const results = Promise.all(
        entries.map((entry) =>
          scheduler.run(patientOf(entry), async () => ({
            index: entry.index,
            ...(await applyEntry(deps, clinicId, actor, entry, batch)),
          })),
        ),
      );
      const recordedBefore = previous;
      const processed = start + entries.length;
      const recorded = (async () => {
        const batchResults = await results;
        await recordedBefore;
        await record(batchResults, {
          total: mapped.entries.length,
          skippedTypes,
          processedEvents: remembered,
        });
        heartbeat(processed);
      })();
      // Failures are awaited below (or as the next batch's predecessor); this only keeps one that comes
      // first from counting as unhandled meanwhile.
      recorded.catch(() => undefined);
      // At most two batches at once: the one before this must be recorded before the next is prepared.
      await recordedBefore;
      previous = recorded;
    }
    await previous;
  } catch (error) {
    // Stop starting entries, and let those under way end before the attempt fails.
    scheduler.stop(error);
    await scheduler.idle();
    throw error;
  }
}

/** What a batch reads once for all of its entries. */
type PreparedBatch = EventBatch & {
  /** Patients of the batch's events already known, by EHR id (their look-ups are audited). */
  patientIds: Map<string, string>;
};

/**
 * The clinic's journeys, and the patients the batch's events name by EHR id, in one transaction (one
 * audit row per look-up that found its patient, as each event's own look-up would write). A patient not
 * found yet (an earlier entry of the import may create it) is looked up by its event when it runs.
 */
async function prepareBatch(
  deps: EnrollmentDeps,
  clinicId: string,
  actor: string,
  entries: MappedEntry[],
): Promise<Pick<PreparedBatch, 'journeys' | 'patientIds'>> {
  const named = entries.flatMap(({ command }) =>
    command.kind === 'event' && 'ehrId' in command.event.patient ? [command.event.patient.ehrId] : [],
  );
  return withClinic(deps.db, clinicId, async (tx) => {
    const journeys = await clinicJourneys(tx, clinicId);
    // Last: the audit chain's lock is held until the commit.
    const patientIds = await findExistingPatientIdsByExternalId(tx, deps.cipher, actor, clinicId, named);
    return { journeys, patientIds };
  });
}

/** At most `limit` holders at once; the others wait their turn, first come first served. */
class Slots {
  private taken = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async use<T>(work: () => Promise<T>): Promise<T> {
    if (this.taken < this.limit) this.taken++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.taken--;
    }
  }
}

/**
 * Runs tasks with up to `limit` at once, those with the same key one after another in the order they
 * were given; after `stop`, tasks not begun fail with its reason instead of running.
 */
class EntryScheduler {
  private readonly slots: Slots;
  private readonly lastOfKey = new Map<string, Promise<unknown>>();
  private readonly started = new Set<Promise<unknown>>();
  private stopped: { reason: unknown } | undefined;

  constructor(limit: number) {
    this.slots = new Slots(limit);
  }

  run<R>(key: string, task: () => Promise<R>): Promise<R> {
    const before = this.lastOfKey.get(key) ?? Promise.resolve();
    const result = before.then(() =>
      this.slots.use(async () => {
        if (this.stopped) throw this.stopped.reason;
        return task();
      }),
    );
    // The next task of the key waits for this one, whether it succeeded or not (a failure stops them all).
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.lastOfKey.set(key, settled);
    this.started.add(settled);
    void settled.then(() => {
      this.started.delete(settled);
      if (this.lastOfKey.get(key) === settled) this.lastOfKey.delete(key);
    });
    return result;
  }

  stop(reason: unknown): void {
    this.stopped ??= { reason };
  }

  /** Once every task given so far has ended (after `stop`, those not begun end at once). */
  async idle(): Promise<void> {
    while (this.started.size > 0) await Promise.all(this.started);
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

/** How many CSV rows are applied at once: each is database work only, and the pool is 10 connections. */
const CONCURRENCY = 8;
/**
 * How many FHIR entries are under way at once. An event's transaction is short and its workflow start
 * a long wait on Temporal, so many more starts can be in flight than transactions (FHIR_TRANSACTIONS).
 */
const FHIR_CONCURRENCY = 32;
/**
 * How many of them hold a database connection at once: the rest of the worker's pool (10 by default)
 * stays free for the activities of the journeys the import starts.
 */
const FHIR_TRANSACTIONS = 4;

async function applyEntry(
  deps: EnrollmentDeps,
  clinicId: string,
  actor: string,
  entry: MappedEntry,
  batch: PreparedBatch,
): Promise<Omit<ImportResult, 'line' | 'index'>> {
  const { command } = entry;
  switch (command.kind) {
    case 'skipped':
      return { outcome: 'skipped', status: '200 OK', problem: command.reason };
    case 'invalid':
      return { outcome: 'failed', status: '422 Unprocessable Entity', problem: command.problem };
    case 'patient':
      return batch.inTransaction(() => applyPatient(deps, clinicId, actor, command.patient, []));
    case 'consent':
      try {
        const id = await batch.inTransaction(() =>
          withClinic(deps.db, clinicId, async (tx) => {
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
          }),
        );
        if (!command.consent.granted) await notifyJourneys(deps, clinicId, id, command.consent.channel);
        return { outcome: 'applied', status: '201 Created', id };
      } catch (error) {
        return failure(error);
      }
    case 'event':
      try {
        const { event } = command;
        const known = 'ehrId' in event.patient ? batch.patientIds.get(event.patient.ehrId) : undefined;
        const outcome = await handleEvent(
          deps,
          clinicId,
          known ? { ...event, patient: { id: known } } : event,
          actor,
          batch,
        );
        return { outcome: 'applied', status: '200 OK', id: outcome.patientId };
      } catch (error) {
        return failure(error);
      }
  }
}
