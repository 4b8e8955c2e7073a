// Exactly-once in effect, on the real Temporal dev server: duplicate triggers, provider outages, ambiguous
// provider calls and a worker killed with SIGKILL in the middle of a reminder.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { NativeConnection } from '@temporalio/worker';
import { getDeliveryByKey } from '../../db/queries/deliveries';
import { startReminder } from '../../usecases/start-workflows';
import type { ReminderInput } from '../../domain/reminder';
import { activitiesFor, createPatient, createTestWorker } from '../support/fixtures';
import {
  connectTestTemporal,
  createTestDatabase,
  spawnWorker,
  startTestPeers,
  stopProcess,
  tempDir,
  uniqueTaskQueue,
  waitFor,
  workerProcessEnv,
} from '../support/harness';

describe('reminder durability on the Temporal dev server', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let peers: Awaited<ReturnType<typeof startTestPeers>>;
  let temporal: Awaited<ReturnType<typeof connectTestTemporal>>;
  let nativeConnection: NativeConnection;
  let client: Client;

  before(async () => {
    [database, peers] = await Promise.all([createTestDatabase(), startTestPeers()]);
    temporal = await connectTestTemporal();
    ({ nativeConnection, client } = temporal);
  });
  after(async () => {
    await temporal?.close();
    await peers?.stop();
    await database?.close();
  });

  const reminder = (
    patient: { clinicId: string; patientId: string },
    milliseconds: number,
  ): Omit<ReminderInput, 'revision'> => ({
    ...patient,
    journey: 'refill',
    episode: randomUUID(),
    template: 'reminder',
    due: { kind: 'after', milliseconds },
  });
  const messagesTo = (phone: string) => peers.sms.messages().filter((message) => message.to === phone);

  it('starts one workflow for a duplicate trigger, running or finished', async () => {
    const patient = await createPatient(database.db, { phone: '+14155550201' });
    const taskQueue = uniqueTaskQueue('dup');
    const input = reminder(patient, 500);
    const first = await startReminder(client, taskQueue, input);
    const second = await startReminder(client, taskQueue, input);
    assert.equal(second.workflowId, first.workflowId);
    const runId = (await first.describe()).runId;
    assert.equal((await second.describe()).runId, runId);

    const worker = await createTestWorker(nativeConnection, taskQueue, database.db, peers);
    await worker.runUntil(first.result());
    const third = await startReminder(client, taskQueue, input);
    assert.equal((await third.describe()).runId, runId, 'a finished reminder is not started again');
    assert.equal(messagesTo('+14155550201').length, 1);
  });

  it('retries through provider outages and still sends once', async () => {
    const patient = await createPatient(database.db, { phone: '+14155550202' });
    const taskQueue = uniqueTaskQueue('outage');
    peers.sms.failNext(503, 1);
    peers.sms.failNext(429, 1);
    const worker = await createTestWorker(nativeConnection, taskQueue, database.db, peers);
    const handle = await startReminder(client, taskQueue, reminder(patient, 0));
    const result = await worker.runUntil(handle.result());
    assert.equal(result.status, 'sent');
    assert.equal(messagesTo('+14155550202').length, 1);
    const delivery = await getDeliveryByKey(database.owner.db, patient.clinicId, `${handle.workflowId}:send`);
    assert.equal(delivery?.attempts, 3, 'two refused attempts, then the one that went through');
  });

  it('does not send again when the activity is retried after it already sent', async () => {
    const patient = await createPatient(database.db, { phone: '+14155550203' });
    const activities = await activitiesFor(database.db, peers);
    const input = {
      ...patient,
      template: 'reminder',
      dueAt: Date.now(),
      idempotencyKey: `test:${randomUUID()}:send`,
    };
    const send = inActivityContext(activities.sendReminder.bind(activities));
    const first = await send(input);
    const again = await send(input);
    assert.deepEqual(again, first);
    assert.equal(messagesTo('+14155550203').length, 1);
  });

  it('asks the provider before resending when an earlier attempt died mid-call', async () => {
    const patient = await createPatient(database.db, { phone: '+14155550204' });
    const activities = await activitiesFor(database.db, peers);
    const input = {
      ...patient,
      template: 'reminder',
      dueAt: Date.now(),
      idempotencyKey: `test:${randomUUID()}:send`,
    };
    const send = inActivityContext(activities.sendReminder.bind(activities));
    // Reproduce the crash window: a first attempt recorded itself and reached the provider, then died
    // before completing the row.
    await send(input);
    const delivery = await getDeliveryByKey(database.owner.db, patient.clinicId, input.idempotencyKey);
    await database.owner.db.execute(
      `update deliveries set status = 'pending', completed_at = null, provider_message_id = null where id = '${delivery!.id}'`,
    );
    const retried = await send(input);
    assert.ok(retried.kind === 'done');
    assert.equal(retried.result.status, 'sent');
    assert.equal(
      retried.result.providerMessageId,
      delivery!.providerMessageId,
      'the earlier message was found',
    );
    assert.equal(messagesTo('+14155550204').length, 1);
  });

  it('survives a worker killed with SIGKILL mid-journey: a new worker sends exactly one message', async () => {
    const patient = await createPatient(database.db, { phone: '+14155550205' });
    const taskQueue = uniqueTaskQueue('kill');
    const dataDir = await tempDir('kill');
    const workerEnv = workerProcessEnv({
      databaseUrl: database.url,
      appDatabaseUrl: database.appUrl,
      taskQueue,
      dataDir,
      peers,
    });

    const first = await spawnWorker(workerEnv);
    const handle = await startReminder(client, taskQueue, reminder(patient, 6_000));
    await waitFor(async () => {
      const history = await handle.fetchHistory();
      return history.events?.some((event) => event.timerStartedEventAttributes) ?? false;
    }, 'the reminder to start its timer');
    await stopProcess(first, 'SIGKILL');
    assert.equal(messagesTo('+14155550205').length, 0, 'nothing was sent before the kill');

    const second = await spawnWorker(workerEnv);
    try {
      const result = await handle.result();
      assert.equal(result.status, 'sent');
      assert.equal(messagesTo('+14155550205').length, 1);
    } finally {
      await stopProcess(second);
    }
  });
});

/** Runs an activity function as Temporal would, with an activity context, outside any worker. */
function inActivityContext<I, O>(activity: (input: I) => Promise<O>): (input: I) => Promise<O> {
  const environment = new MockActivityEnvironment();
  return (input) => environment.run<[I], O, typeof activity>(activity, input);
}
