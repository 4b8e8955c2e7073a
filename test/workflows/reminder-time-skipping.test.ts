// The reminder over its whole simulated life on Temporal's time-skipping test server, with real
// PostgreSQL and the real SDKs talking to the local peers.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { reminderWorkflow } from '../../workflows/reminder';
import { getDeliveryByKey } from '../../db/queries/deliveries';
import { startReminder } from '../../usecases/start-workflows';
import { createPatient, createTestWorker } from '../support/fixtures';
import {
  createTestDatabase,
  createTimeSkippingEnvironment,
  startTestPeers,
  testDataConverter,
  uniqueTaskQueue,
} from '../support/harness';

describe('reminder on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let peers: Awaited<ReturnType<typeof startTestPeers>>;

  let decodingClient: Client;

  before(async () => {
    const [envStarted, databaseStarted, peersStarted] = await Promise.allSettled([
      // Workers refuse payloads the codec did not encrypt: start reminders encrypted, as production does.
      createTimeSkippingEnvironment({ dataConverter: testDataConverter }),
      createTestDatabase(),
      startTestPeers(),
    ]);
    // Whatever did start is stopped by after(), even when something else failed to.
    if (databaseStarted.status === 'fulfilled') database = databaseStarted.value;
    if (peersStarted.status === 'fulfilled') peers = peersStarted.value;
    if (envStarted.status === 'rejected') throw envStarted.reason;
    env = envStarted.value;
    for (const started of [databaseStarted, peersStarted])
      if (started.status === 'rejected') throw started.reason;
    decodingClient = new Client({ connection: env.connection, dataConverter: testDataConverter });
  });
  after(async () => {
    await env?.teardown();
    await peers?.stop();
    await database?.close();
  });

  async function runReminder(patient: { clinicId: string; patientId: string }, date: string, time: string) {
    const taskQueue = uniqueTaskQueue('ts');
    const worker = await createTestWorker(env.nativeConnection, taskQueue, database.db, peers);
    const startedAt = await env.currentTimeMs();
    return worker.runUntil(async () => {
      const handle = await startReminder(env.client, taskQueue, {
        ...patient,
        journey: 'refill',
        episode: randomUUID(),
        template: 'reminder',
        due: { kind: 'local-time', date, time },
      });
      // The time-skipping client advances time while awaiting a result but (SDK 1.24) drops the data
      // converter when it rebuilds its workflow client, so it cannot decrypt the result: read it again
      // through a client that can.
      await handle.result().catch(() => undefined);
      const result = await decodingClient.workflow
        .getHandle<typeof reminderWorkflow>(handle.workflowId)
        .result();
      return { handle, result, startedAt, finishedAt: await env.currentTimeMs() };
    });
  }

  it('sleeps months until 09:00 New York time across the spring DST change, then sends once', async () => {
    const patient = await createPatient(database.db, { timeZone: 'America/New_York', phone: '+14155550101' });
    const { handle, result, startedAt, finishedAt } = await runReminder(patient, '2027-03-15', '09:00');

    // 09:00 EDT (UTC-4) the day after the change, not 09:00 EST.
    assert.equal(result.dueAt, Date.UTC(2027, 2, 15, 13, 0));
    assert.ok(startedAt < Date.UTC(2027, 0, 1), 'the reminder was started months before it was due');
    assert.ok(finishedAt >= result.dueAt, 'the send happened at the due time, not before');
    assert.equal(result.status, 'sent');
    assert.equal(result.channel, 'sms');

    const delivery = await getDeliveryByKey(database.owner.db, patient.clinicId, `${handle.workflowId}:send`);
    assert.equal(delivery?.status, 'sent');
    assert.equal(delivery?.providerMessageId, result.providerMessageId);
    assert.equal(delivery?.attempts, 1);
    assert.ok(
      delivery?.createdAt && delivery.createdAt.getTime() <= Date.now(),
      'the row was written at send time',
    );
    const received = peers.sms.messages().filter((message) => message.to === '+14155550101');
    assert.equal(received.length, 1);
    assert.match(received[0]!.body, /^Test Clinic: you have a new health reminder/);
  });

  it('sends in Spanish by email when the patient prefers it, and never puts PHI in the message', async () => {
    const patient = await createPatient(database.db, {
      timeZone: 'America/Phoenix',
      language: 'es-MX',
      channel: 'email',
      email: 'paciente@example.com',
    });
    const { result } = await runReminder(patient, '2027-03-15', '09:00');
    // Phoenix keeps MST all year.
    assert.equal(result.dueAt, Date.UTC(2027, 2, 15, 16, 0));
    assert.equal(result.channel, 'email');
    const raw = (await peers.smtp.messages()).find((message) => message.includes('To: paciente@example.com'));
    assert.ok(raw, 'the email reached the peer');
    assert.match(raw, /Subject: Un recordatorio de Test Clinic/);
    assert.doesNotMatch(raw, /Test Patient|1980-01-01/);
  });

  it('places a reminder in the spring-forward gap just after it, then holds it for quiet hours', async () => {
    const patient = await createPatient(database.db, { timeZone: 'America/New_York', phone: '+14155550102' });
    const { result } = await runReminder(patient, '2027-03-14', '02:30');
    // 02:30 does not exist that night: 03:30 EDT, which is quiet, so it leaves at 08:00 EDT (12:00 UTC).
    assert.equal(result.dueAt, Date.UTC(2027, 2, 14, 12, 0));
    assert.equal(result.status, 'sent');
  });
});
