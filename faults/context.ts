// One scenario's world: a database of its own on the stack's PostgreSQL, fresh SMS and SMTP peers, task
// queues of its own, carebell worker processes (processes/worker.ts) it can start and kill, and a record
// of every workflow it started, so the invariants can be checked on exactly what the scenario did.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import postgres from 'postgres';
import { connectDatabase, migrateDatabase, type Database, type DatabaseHandle } from '../db/client';
import { insertClinic } from '../db/queries/clinics';
import { insertPatient } from '../db/queries/patients';
import { withClinic } from '../db/tenant';
import type { Channel } from '../domain/messaging';
import type { JourneyWorkflow } from '../domain/journey';
import type { ReminderWorkflow } from '../domain/reminder';
import { sweepScheduleId } from '../domain/sweep';
import { startLocalPeers, type LocalPeers } from '../infra/local-peers';
import { sweeps } from '../journeys/sweeps';
import { createDataConverter } from '../security/data-converter';
import { FieldCipher } from '../security/field-cipher';
import { enroll, type EnrollmentDeps, type EnrollRequest } from '../usecases/enroll';
import { startReminder } from '../usecases/start-workflows';
import type { FaultStack } from './stack';

const root = fileURLToPath(new URL('..', import.meta.url));

/** An expectation of the scenario did not hold: reported as a violation, the scenario goes no further. */
export class Violation extends Error {
  override name = 'Violation';
}

export interface PatientFixture {
  clinicId: string;
  patientId: string;
  phone: string;
  email: string;
  timeZone: string;
}

export interface WorkerProcess {
  taskQueue: string;
  pid: number;
  /** SIGKILL by default: the process gets no chance to finish anything. */
  kill: (signal?: NodeJS.Signals) => Promise<void>;
  /** Whether it is still running (it may have exited on its own). */
  running: () => boolean;
}

export interface ContextOptions {
  /** Another Temporal frontend than the stack's (the time-skipping test server). */
  temporalAddress?: string;
}

export class FaultContext {
  readonly violations: string[] = [];
  /** Scenario-specific results worth a word on the summary line. */
  readonly notes: string[] = [];
  /** Workflows the scenario started (journeys it enrolled are also found through their enrollments). */
  readonly workflowIds = new Set<string>();
  readonly taskQueues = new Set<string>();
  readonly cipher: FieldCipher;
  private readonly workers = new Set<ChildProcess>();
  private workerCount = 0;
  private patientCount = 0;
  private readonly cleanups: (() => unknown)[] = [];
  private readonly finalSteps: (() => Promise<unknown>)[] = [];

  private constructor(
    readonly name: string,
    readonly stack: FaultStack,
    readonly dir: string,
    readonly taskQueue: string,
    readonly databaseUrl: string,
    private readonly app: DatabaseHandle,
    private readonly ownerHandle: DatabaseHandle,
    readonly peers: LocalPeers,
    readonly connection: Connection,
    readonly client: Client,
    readonly temporalAddress: string,
  ) {
    this.cipher = new FieldCipher(stack.keyRing);
    this.taskQueues.add(taskQueue);
  }

  static async create(stack: FaultStack, name: string, options: ContextOptions = {}): Promise<FaultContext> {
    const suffix = randomBytes(4).toString('hex');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), `carebell-fault-${name}-`));
    const undo: (() => Promise<unknown>)[] = [() => fs.rm(dir, { recursive: true, force: true })];
    try {
      const databaseUrl = await createDatabase(stack.adminDatabaseUrl, `faults_${suffix}`);
      const app = connectDatabase(databaseUrl, { max: 4 });
      undo.push(app.close);
      const owner = connectDatabase(databaseUrl, { max: 2, as: 'owner' });
      undo.push(owner.close);
      const peers = await startLocalPeers({ dir: path.join(dir, 'peers'), smsPort: 0, smtpPort: 0 });
      undo.push(peers.stop);
      const temporalAddress = options.temporalAddress ?? stack.temporalAddress;
      const connection = await Connection.connect({ address: temporalAddress });
      undo.push(() => connection.close());
      const client = new Client({
        connection,
        namespace: stack.namespace,
        dataConverter: createDataConverter(stack.keyRing),
      });
      return new FaultContext(
        name,
        stack,
        dir,
        `faults-${name}-${suffix}`,
        databaseUrl,
        app,
        owner,
        peers,
        connection,
        client,
        temporalAddress,
      );
    } catch (error) {
      for (const step of undo.reverse()) await step().catch(() => {});
      throw error;
    }
  }

  /** Application connection: row-level security applies, as in the worker. */
  get db(): Database {
    return this.app.db;
  }

  /** Owner connection, for checks that span clinics (and for tampering with rows). */
  get owner(): Database {
    return this.ownerHandle.db;
  }

  expect(holds: boolean, violation: string): boolean {
    if (!holds) this.violations.push(violation);
    return holds;
  }

  note(text: string): void {
    this.notes.push(text);
  }

  /** Runs `step` when the scenario ends, before its workers, peers and connections are closed. */
  onClose(step: () => unknown): void {
    this.cleanups.push(step);
  }

  /** Runs `step` after everything else of the scenario is closed (e.g. a server of its own). */
  afterClose(step: () => Promise<unknown>): void {
    this.finalSteps.push(step);
  }

  /** Polls `check` until it holds; a Violation naming `what` if it does not within the time. */
  async waitFor(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await check()) return;
      if (Date.now() > deadline) throw new Violation(`${what}: not within ${Math.round(timeoutMs / 1000)}s`);
      await sleep(200);
    }
  }

  async clinic(
    options: {
      timeZone: string;
      quietHoursEnd?: string;
      quietHoursStart?: string;
      name?: string;
    } = { timeZone: 'UTC' },
  ): Promise<string> {
    const clinicId = randomUUID();
    await withClinic(this.db, clinicId, (tx) =>
      insertClinic(tx, {
        id: clinicId,
        name: options.name ?? `Fault Clinic ${this.name}`,
        timeZone: options.timeZone,
        quietHoursEnd: options.quietHoursEnd,
        quietHoursStart: options.quietHoursStart,
      }),
    );
    return clinicId;
  }

  /** A patient of its own, with a phone number and an email address no other patient of the scenario has. */
  async patient(options: {
    timeZone: string;
    clinicId?: string;
    channel?: Channel;
    dateOfBirth?: string;
    sexAtBirth?: string;
  }): Promise<PatientFixture> {
    const clinicId = options.clinicId ?? (await this.clinic({ timeZone: options.timeZone }));
    const number = ++this.patientCount;
    const phone = `+1415555${String(2000 + number).padStart(4, '0')}`;
    const email = `patient${number}@faults.example`;
    const patientId = await withClinic(this.db, clinicId, (tx) =>
      insertPatient(
        tx,
        this.cipher,
        'faults',
        clinicId,
        {
          name: `Fault Patient ${number}`,
          // Young enough that no screening is due: a sweep finds nothing to enroll unless told to.
          dateOfBirth: options.dateOfBirth ?? '2000-01-01',
          language: 'en',
          timeZone: options.timeZone,
          preferredChannel: options.channel ?? 'sms',
          sexAtBirth: options.sexAtBirth,
        },
        [
          { channel: 'sms', address: phone },
          { channel: 'email', address: email },
        ],
      ),
    );
    return { clinicId, patientId, phone, email, timeZone: options.timeZone };
  }

  /** A second task queue (a worker of its own serves it). */
  newTaskQueue(label: string): string {
    const queue = `${this.taskQueue}-${label}`;
    this.taskQueues.add(queue);
    return queue;
  }

  /** Starts processes/worker.ts on the scenario's database, peers and a task queue; resolves once it polls. */
  async startWorker(taskQueue = this.taskQueue): Promise<WorkerProcess> {
    const { twilio, smtpSettings } = this.peers;
    const env: Record<string, string | undefined> = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      XDG_CACHE_HOME: process.env.XDG_CACHE_HOME,
      LOG_LEVEL: 'info',
      CAREBELL_DATA_DIR: path.join(this.dir, 'worker-data'),
      CAREBELL_PUBLIC_URL: 'https://carebell.faults',
      DATABASE_URL: this.databaseUrl,
      TEMPORAL_ADDRESS: this.temporalAddress,
      TEMPORAL_NAMESPACE: this.stack.namespace,
      TEMPORAL_TASK_QUEUE: taskQueue,
      // A worker keeps the daily sweeps' schedules for its queue; one firing (06:00 UTC) in the middle of
      // a scenario would enroll its patients in journeys the scenario knows nothing of. Sweeps run only
      // when a scenario starts one.
      CAREBELL_SWEEPS: 'paused',
      TWILIO_ACCOUNT_SID: twilio.accountSid,
      TWILIO_AUTH_TOKEN: twilio.authToken,
      TWILIO_FROM_NUMBER: twilio.fromNumber,
      TWILIO_API_BASE_URL: twilio.apiBaseUrl,
      SMTP_URL: smtpSettings.url,
      SMTP_FROM: smtpSettings.from,
      SMTP_CA_FILE: smtpSettings.caFile,
      CAREBELL_KEYRING: [...this.stack.keyRing.keys]
        .map(([id, key]) => `${id}:${key.toString('base64')}`)
        .join(','),
      CAREBELL_BLIND_INDEX_KEY: this.stack.keyRing.blindIndexKey.toString('base64'),
    };
    const log = createWriteStream(path.join(this.dir, `worker-${++this.workerCount}.log`));
    const child = spawn(process.execPath, ['--import', 'tsx', 'processes/worker.ts'], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.workers.add(child);
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.once('exit', () => {
      this.workers.delete(child);
      log.end();
    });
    await new Promise<void>((resolve, reject) => {
      const lines = readline.createInterface({ input: child.stdout });
      // Slow on two busy cores: tsx, the workflow bundle, the schedules.
      const timer = setTimeout(() => reject(new Error('a worker did not start within 120s')), 120_000);
      lines.on('line', (line) => {
        if (line.includes('"worker running"')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`a worker exited while starting (${signal ?? code}); see ${this.dir}`));
      });
    });
    return {
      taskQueue,
      pid: child.pid!,
      kill: (signal: NodeJS.Signals = 'SIGKILL') => stopChild(child, signal),
      running: () => child.exitCode === null && child.signalCode === null,
    };
  }

  /** Stops every worker process of the scenario (gracefully), e.g. before the checks. */
  async stopWorkers(): Promise<void> {
    await Promise.all([...this.workers].map((child) => stopChild(child, 'SIGTERM')));
  }

  track(workflowId: string): string {
    this.workflowIds.add(workflowId);
    return workflowId;
  }

  /** A one-off reminder due `afterMs` from now, on the scenario's (or the given) task queue. */
  async reminder(patient: PatientFixture, afterMs: number, taskQueue = this.taskQueue) {
    const handle = await startReminder(this.client, taskQueue, {
      clinicId: patient.clinicId,
      patientId: patient.patientId,
      journey: 'faults',
      episode: randomUUID(),
      template: 'reminder',
      due: { kind: 'after', milliseconds: afterMs },
    });
    this.track(handle.workflowId);
    return this.client.workflow.getHandle<ReminderWorkflow>(handle.workflowId);
  }

  /** Enrolls as an EHR event or a sweep would (enrollment row first, then the journey). */
  async enroll(request: EnrollRequest, taskQueue = this.taskQueue) {
    const enrolled = await enroll(this.enrollmentDeps(taskQueue), request);
    this.track(enrolled.workflowId);
    return this.client.workflow.getHandle<JourneyWorkflow>(enrolled.workflowId);
  }

  enrollmentDeps(taskQueue = this.taskQueue): EnrollmentDeps {
    return { db: this.db, cipher: this.cipher, client: this.client, taskQueue };
  }

  journeyHandle(workflowId: string) {
    return this.client.workflow.getHandle<JourneyWorkflow>(workflowId);
  }

  /** Whether any event of the workflow's history matches (e.g. its timer has started). */
  async historyHas(workflowId: string, test: (event: HistoryEvent) => boolean): Promise<boolean> {
    const history = await this.client.workflow.getHandle(workflowId).fetchHistory();
    return history.events?.some(test) ?? false;
  }

  private closing?: Promise<void>;

  /** Stops the scenario's processes, workflows and schedules, then its peers and connections (once). */
  close(keepFiles: boolean): Promise<void> {
    this.closing ??= this.closeOnce(keepFiles);
    return this.closing;
  }

  private async closeOnce(keepFiles: boolean): Promise<void> {
    for (const step of this.cleanups.splice(0).reverse())
      await Promise.resolve()
        .then(step)
        .catch(() => {});
    await Promise.all([...this.workers].map((child) => stopChild(child, 'SIGKILL')));
    // The shared Temporal server of `npm test` outlives the scenario: leave nothing running on it.
    for (const workflowId of this.workflowIds) {
      await this.client.workflow
        .getHandle(workflowId)
        .terminate('fault scenario over')
        .catch(() => {});
    }
    for (const queue of this.taskQueues) {
      for (const sweep of sweeps()) {
        await this.client.schedule
          .getHandle(sweepScheduleId(queue, sweep.key))
          .delete()
          .catch(() => {});
      }
    }
    await this.connection.close().catch(() => {});
    await this.peers.stop().catch(() => {});
    await this.app.close().catch(() => {});
    await this.ownerHandle.close().catch(() => {});
    for (const step of this.finalSteps.splice(0).reverse()) await step().catch(() => {});
    if (!keepFiles) await fs.rm(this.dir, { recursive: true, force: true });
  }
}

type HistoryEvent = NonNullable<
  Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>['events']
>[number];

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fresh, migrated database on the cluster (the application role is created by the migrations). */
async function createDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await migrateDatabase(url.toString());
  return url.toString();
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}
