// The segment sweep: every clinic's due patients enrolled page by page, nobody twice on a re-run, and a
// sweep whose worker is killed mid-way resumes where it stopped. Plus the schedules the worker keeps.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { MAX_SWEEP_PAGE_ATTEMPTS } from '../../activities/sweep';
import { connectDatabase } from '../../db/client';
import { recordScreening } from '../../db/queries/screenings';
import { withClinic } from '../../db/tenant';
import { ensureSweepSchedules, SWEEPS_PAUSED_NOTE } from '../../usecases/sweep-schedules';
import { reconcileScheduleId } from '../../domain/reconcile';
import { purgeScheduleId } from '../../domain/purge';
import type { sweepWorkflow } from '../../workflows/sweep';
import { sweepProgressQuery, sweepScheduleId, type SweepInput } from '../../domain/sweep';
import { activitiesFor, createPatient, createTestWorker } from '../support/fixtures';
import {
  connectTestTemporal,
  createTestDatabase,
  spawnWorker,
  startTestPeers,
  stopProcess,
  tempDir,
  testCipher,
  uniqueTaskQueue,
  waitFor,
  workerProcessEnv,
} from '../support/harness';

const today = DateTime.now().setZone('America/New_York').startOf('day');
const bornYearsAgo = (years: number, plusDays = 0) =>
  today.minus({ years }).plus({ days: plusDays }).toISODate()!;

type TestDatabase = Awaited<ReturnType<typeof createTestDatabase>>;

describe('segment sweep', () => {
  let peers: Awaited<ReturnType<typeof startTestPeers>>;
  let temporal: Awaited<ReturnType<typeof connectTestTemporal>>;
  let client: Client;
  const databases: TestDatabase[] = [];

  before(async () => {
    [peers, temporal] = await Promise.all([startTestPeers(), connectTestTemporal()]);
    client = temporal.client;
  });
  after(async () => {
    await temporal?.close();
    await peers?.stop();
    await Promise.all(databases.map((database) => database.close()));
  });

  async function newDatabase() {
    const database = await createTestDatabase();
    databases.push(database);
    return database;
  }

  const startSweep = (taskQueue: string, input: SweepInput) =>
    client.workflow.start<typeof sweepWorkflow>('sweepWorkflow', {
      workflowId: `sweep:test:${uniqueTaskQueue('run')}`,
      taskQueue,
      args: [input],
    });

  const enrollmentsOf = async (database: TestDatabase) => [
    ...(await database.owner.db.execute<{ patient_id: string; journey_key: string; workflow_id: string }>(
      sql`select patient_id, journey_key, workflow_id from enrollments order by patient_id`,
    )),
  ];

  it('enrolls the due patients of every clinic page by page, and nobody twice on a re-run', async () => {
    const database = await newDatabase();
    const patient = (options: Parameters<typeof createPatient>[1]) => createPatient(database.db, options);
    // Overdue for mammogram, colorectal and cervical screening.
    const due3 = await patient({
      sexAtBirth: 'female',
      dateOfBirth: bornYearsAgo(50),
      phone: '+14155550601',
    });
    const { clinicId } = due3;
    const inClinic = (options: Parameters<typeof createPatient>[1]) => patient({ ...options, clinicId });
    await inClinic({ sexAtBirth: 'male', dateOfBirth: bornYearsAgo(30), phone: '+14155550602' });
    const screened = await inClinic({
      sexAtBirth: 'male',
      dateOfBirth: bornYearsAgo(60),
      phone: '+14155550603',
    });
    await withClinic(database.db, clinicId, (tx) =>
      recordScreening(tx, testCipher, 'test', clinicId, screened.patientId, {
        test: 'colorectal',
        performedOn: today.minus({ years: 2 }).toISODate()!,
      }),
    );
    // Turns 45 in ten days (colorectal due then, within 30 days) and in sixty (not yet).
    const soon = await inClinic({
      sexAtBirth: 'male',
      dateOfBirth: bornYearsAgo(45, 10),
      phone: '+14155550604',
    });
    await inClinic({ sexAtBirth: 'male', dateOfBirth: bornYearsAgo(45, 60), phone: '+14155550605' });
    const otherClinic = await patient({
      sexAtBirth: 'male',
      dateOfBirth: bornYearsAgo(52),
      phone: '+14155550606',
    });

    const taskQueue = uniqueTaskQueue('sweep');
    const worker = await createTestWorker(temporal.nativeConnection, taskQueue, database.db, peers, client);
    const [first, second] = await worker.runUntil(async () => {
      const input = { sweep: 'screening-check', batchSize: 2, startsPerSecond: 100 };
      const first = await (await startSweep(taskQueue, input)).result();
      const second = await (await startSweep(taskQueue, input)).result();
      return [first, second];
    });

    assert.deepEqual(
      [first.scanned, first.enrolled, first.alreadyEnrolled],
      [6, 5, 0],
      'six patients seen; five screenings due',
    );
    assert.equal(first.pages, 3 + 1, 'five patients in pages of two, then one more clinic');
    assert.deepEqual([second.enrolled, second.alreadyEnrolled], [0, 5], 'a re-run finds every journey');
    const rows = await enrollmentsOf(database);
    const expected = [due3.patientId, due3.patientId, due3.patientId, soon.patientId, otherClinic.patientId];
    assert.deepEqual(rows.map((row) => row.patient_id).sort(), expected.sort());
    assert.ok(rows.every((row) => row.journey_key === 'screening'));
    assert.equal(new Set(rows.map((row) => row.workflow_id)).size, 5);
    for (const row of rows) {
      const { status } = await client.workflow.getHandle(row.workflow_id).describe();
      assert.equal(status.name, 'RUNNING');
    }
  });

  it('resumes where it stopped after its worker is killed, enrolling each patient once', async () => {
    const database = await newDatabase();
    const first = await createPatient(database.db, {
      sexAtBirth: 'male',
      dateOfBirth: bornYearsAgo(50),
      phone: '+14155550610',
    });
    for (let index = 1; index < 6; index++) {
      await createPatient(database.db, {
        clinicId: first.clinicId,
        sexAtBirth: 'male',
        dateOfBirth: bornYearsAgo(50 + index),
        phone: `+1415555061${index}`,
      });
    }
    const taskQueue = uniqueTaskQueue('sweepkill');
    const env = workerProcessEnv({
      databaseUrl: database.url,
      appDatabaseUrl: database.appUrl,
      taskQueue,
      dataDir: await tempDir('sweepkill'),
      peers,
    });
    const killed = await spawnWorker(env);
    // One patient a page, one journey start a second: slow enough to be killed in the middle.
    const handle = await startSweep(taskQueue, {
      sweep: 'screening-check',
      batchSize: 1,
      startsPerSecond: 1,
    });
    try {
      await waitFor(
        async () => (await handle.query(sweepProgressQuery)).pages >= 2,
        'the sweep to finish two pages',
      );
    } finally {
      await stopProcess(killed, 'SIGKILL');
    }
    const replacement = await spawnWorker(env);
    try {
      const result = await handle.result();
      assert.equal(result.scanned, 6, 'every page was counted once');
      assert.equal(result.enrolled + result.alreadyEnrolled, 6);
      assert.ok(result.alreadyEnrolled <= 1, 'at most the page in flight at the kill was redone');
    } finally {
      await stopProcess(replacement);
    }
    const rows = await enrollmentsOf(database);
    assert.equal(rows.length, 6);
    assert.equal(new Set(rows.map((row) => row.patient_id)).size, 6);
  });

  it('skips and reports records it cannot decrypt, and goes on to every clinic', async () => {
    const database = await newDatabase();
    const due = (phone: string, clinicId?: string) =>
      createPatient(database.db, { sexAtBirth: 'male', dateOfBirth: bornYearsAgo(50), phone, clinicId });
    const tampered = await due('+14155550630');
    const neighbour = await due('+14155550631', tampered.clinicId);
    const keyless = await due('+14155550632');
    const other = await due('+14155550633', keyless.clinicId);
    // A value copied from another row (it fails authentication there), and one under a key the ring lacks.
    await database.owner.db.execute(sql`
      update patients set date_of_birth_enc = (select date_of_birth_enc from patients where id = ${neighbour.patientId})
      where id = ${tampered.patientId}`);
    await database.owner.db.execute(sql`
      update patients set date_of_birth_enc = 'v1:retired:' || split_part(date_of_birth_enc, ':', 3)
      where id = ${keyless.patientId}`);

    const taskQueue = uniqueTaskQueue('poison');
    const worker = await createTestWorker(temporal.nativeConnection, taskQueue, database.db, peers, client);
    const result = await worker.runUntil(async () => {
      const handle = await startSweep(taskQueue, {
        sweep: 'screening-check',
        batchSize: 10,
        startsPerSecond: 100,
      });
      return Promise.race([
        handle.result(),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('the sweep did not finish: stuck on a bad record')), 45_000),
        ),
      ]);
    });
    assert.deepEqual([result.scanned, result.enrolled], [4, 2]);
    assert.deepEqual(
      (await enrollmentsOf(database)).map((row) => row.patient_id).sort(),
      [neighbour.patientId, other.patientId].sort(),
    );
    const failed = await database.owner.db.execute<{ clinic_id: string; object_id: string }>(sql`
      select clinic_id, object_id from audit_log
      where actor = 'sweep' and action = 'patient.read' and outcome = 'failure' order by object_id`);
    const [screeningReads] = await database.owner.db.execute<{ n: string }>(
      sql`select count(*) as n from audit_log where actor = 'sweep' and action = 'screening.read'`,
    );
    assert.equal(Number(screeningReads!.n), 2, "each clinic's page of screening records was read, audited");
    assert.deepEqual(
      failed.map((row) => [row.clinic_id, row.object_id]).sort(),
      [
        [tampered.clinicId, tampered.patientId],
        [keyless.clinicId, keyless.patientId],
      ].sort(),
    );
  });

  it('gives a page up after a bounded number of attempts, so a run cannot hold the schedule forever', async () => {
    const database = await newDatabase();
    const { clinicId } = await createPatient(database.db, { phone: '+14155550640' });
    // A database that refuses every query: the failure no retry can cure.
    const gone = connectDatabase(database.appUrl, { max: 1 });
    await gone.close();
    const activities = await activitiesFor(gone.db, peers, { client, taskQueue: 'unused' });
    const input = { sweep: 'screening-check', clinicId, after: null, limit: 10, asOf: Date.now() };
    const attempt = (number: number) =>
      new MockActivityEnvironment({ attempt: number }, { logger: new DefaultLogger('ERROR', () => {}) }).run(
        (page: typeof input) => activities.sweepBatch(page),
        input,
      );
    await assert.rejects(
      attempt(1),
      (error: Error) => !(error instanceof ApplicationFailure && error.nonRetryable),
    );
    await assert.rejects(attempt(MAX_SWEEP_PAGE_ATTEMPTS), (error: Error) => {
      assert.ok(error instanceof ApplicationFailure, String(error));
      assert.equal(error.type, 'SweepPageGaveUp');
      assert.equal(error.nonRetryable, true);
      return true;
    });
  });

  it('keeps one schedule per sweep and task queue, updated to the deployed sweeps, starting a working sweep', async () => {
    const taskQueue = uniqueTaskQueue('schedules');
    const daily = client.schedule.getHandle(sweepScheduleId(taskQueue, 'screening-check'));
    // An earlier deployment's schedule, at another hour.
    await client.schedule.create({
      scheduleId: daily.scheduleId,
      spec: { cronExpressions: ['0 5 * * *'] },
      action: { type: 'startWorkflow', workflowType: 'sweepWorkflow', taskQueue, args: [{ sweep: 'x' }] },
    });
    const ids = await ensureSweepSchedules(client, taskQueue);
    assert.deepEqual(ids, [
      daily.scheduleId,
      ...['open-enrollment', 'medicaid-renewal', 'lapsed-patients'].map((key) =>
        sweepScheduleId(taskQueue, key),
      ),
      reconcileScheduleId(taskQueue),
      purgeScheduleId(taskQueue),
    ]);
    assert.deepEqual(await ensureSweepSchedules(client, taskQueue), ids, 'a second worker changes nothing');
    const described = await daily.describe();
    assert.equal(described.policies.overlap, ScheduleOverlapPolicy.SKIP);
    const next = described.info.nextActionTimes[0]!;
    assert.deepEqual([next.getUTCHours(), next.getUTCMinutes()], [6, 0], 'the deployed cron replaced 05:00');
    const weekly = await client.schedule.getHandle(ids[3]!).describe();
    const nextWeekly = weekly.info.nextActionTimes[0]!;
    assert.deepEqual([nextWeekly.getUTCDay(), nextWeekly.getUTCHours()], [1, 6], 'lapsed patients: Mondays');

    // What the schedule starts is a working sweep: trigger it now and find the due patient enrolled.
    const database = await newDatabase();
    const due = await createPatient(database.db, {
      sexAtBirth: 'male',
      dateOfBirth: bornYearsAgo(55),
      phone: '+14155550620',
    });
    const worker = await createTestWorker(temporal.nativeConnection, taskQueue, database.db, peers, client);
    const swept = await worker.runUntil(async () => {
      await daily.trigger();
      let workflowId: string | undefined;
      await waitFor(async () => {
        const action = (await daily.describe()).info.recentActions.at(-1)?.action;
        workflowId = action?.type === 'startWorkflow' ? action.workflow.workflowId : undefined;
        return workflowId !== undefined;
      }, 'the schedule to start a sweep');
      return client.workflow.getHandle<typeof sweepWorkflow>(workflowId!).result();
    });
    assert.deepEqual([swept.scanned, swept.enrolled], [1, 1]);
    assert.deepEqual(
      (await enrollmentsOf(database)).map((row) => row.patient_id),
      [due.patientId],
    );
    for (const id of ids) await client.schedule.getHandle(id).delete();
  });

  it("creates the sweeps' schedules paused when asked; after that their state is the operators'", async () => {
    const taskQueue = uniqueTaskQueue('paused');
    const ids = await ensureSweepSchedules(client, taskQueue, { paused: true });
    const states = async () =>
      Promise.all(ids.map(async (id) => (await client.schedule.getHandle(id).describe()).state));
    const created = await states();
    assert.deepEqual(
      created.map((state) => state.paused),
      [true, true, true, true, false, false],
      'the sweeps only: the reconciler and the purge hurt no one',
    );
    assert.equal(created[0]?.note, SWEEPS_PAUSED_NOTE);

    const screening = client.schedule.getHandle(ids[0]!);
    await screening.unpause('resumed by an operator');
    await ensureSweepSchedules(client, taskQueue, { paused: true });
    assert.deepEqual(
      (await states()).map((state) => state.paused),
      [false, true, true, true, false, false],
      'a restart keeps what the operator chose',
    );
    await ensureSweepSchedules(client, taskQueue);
    assert.equal((await states())[1]?.paused, true, 'a restart with the sweeps on resumes none');
    for (const id of ids) await client.schedule.getHandle(id).delete();
  });
});
