// Journey steps through the real send path, on the dev server with PostgreSQL and the local peers:
// consent re-read at send time, fallback to a consented channel, marketing opt-in, caps across journeys.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { NativeConnection } from '@temporalio/worker';
import { DateTime } from 'luxon';
import { sql } from 'drizzle-orm';
import { recordConsent } from '../../db/queries/consents';
import { withClinic } from '../../db/tenant';
import type { JourneyDefinition } from '../../journeys/schema';
import { claimEnrollmentIn, enroll } from '../../usecases/enroll';
import { startJourney } from '../../usecases/start-workflows';
import type { journeyWorkflow } from '../../workflows/journey';
import {
  cancelSignal,
  nextSendQuery,
  type JourneyActivities,
  type SendJourneyStepInput,
  type SendJourneyStepOutcome,
} from '../../domain/journey';
import { activitiesFor, createPatient, createTestWorker, daytimeZone } from '../support/fixtures';
import {
  connectTestTemporal,
  createTestDatabase,
  startTestPeers,
  testCipher,
  uniqueTaskQueue,
  waitFor,
} from '../support/harness';
import { sendNow } from '../support/journeys';

/** A journey that sends after `wait` (an ISO duration), so its send is planned ahead. */
const sendAfter = (key: string, wait: string): JourneyDefinition => ({
  ...sendNow(key),
  steps: [
    { id: 'settle', type: 'wait', for: wait },
    { id: 'hello', type: 'send', template: 'reminder', channels: 'preferred' },
    { id: 'done', type: 'exit' },
  ],
});

describe('journey steps through the real send path', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let peers: Awaited<ReturnType<typeof startTestPeers>>;
  let temporal: Awaited<ReturnType<typeof connectTestTemporal>>;
  let client: Client;
  let nativeConnection: NativeConnection;

  before(async () => {
    [database, peers, temporal] = await Promise.all([
      createTestDatabase(),
      startTestPeers(),
      connectTestTemporal(),
    ]);
    ({ client, nativeConnection } = temporal);
  });
  after(async () => {
    await temporal?.close();
    await peers?.stop();
    await database?.close();
  });

  async function run(patient: { clinicId: string; patientId: string }, definition: JourneyDefinition) {
    const taskQueue = uniqueTaskQueue('jsend');
    const worker = await createTestWorker(nativeConnection, taskQueue, database.db, peers);
    return worker.runUntil(async () => {
      const handle = await startJourney(client, taskQueue, {
        ...patient,
        episode: randomUUID(),
        definition,
        anchorDate: '2027-01-01',
      });
      return handle.result();
    });
  }

  it('sends on the preferred channel and records one delivery', async () => {
    const patient = await createPatient(database.db, { timeZone: daytimeZone, phone: '+14155550401' });
    const result = await run(patient, sendNow('plain'));
    const [entry] = result.timeline;
    assert.equal(entry?.outcome, 'sent');
    assert.equal(entry?.channel, 'sms');
    assert.equal(peers.sms.messages().filter((message) => message.to === '+14155550401').length, 1);
    const rows = await database.owner.db.execute<{ status: string }>(
      sql`select status from deliveries where patient_id = ${patient.patientId}`,
    );
    assert.deepEqual(
      rows.map((row) => row.status),
      ['sent'],
    );
  });

  it('re-reads consent at send time and falls back to a consented channel', async () => {
    const patient = await createPatient(database.db, {
      timeZone: daytimeZone,
      phone: '+14155550402',
      email: 'fallback@example.org',
    });
    await withClinic(database.db, patient.clinicId, (tx) =>
      recordConsent(tx, testCipher, {
        ...patient,
        channel: 'sms',
        category: 'transactional',
        granted: false,
        source: 'sms-keyword',
        evidence: 'STOP',
      }),
    );
    const result = await run(patient, sendNow('fallback'));
    assert.equal(result.timeline[0]?.channel, 'email');
    assert.equal(peers.sms.messages().filter((message) => message.to === '+14155550402').length, 0);
  });

  it('suppresses marketing without an opt-in, with the reason on the delivery', async () => {
    const patient = await createPatient(database.db, { timeZone: daytimeZone, phone: '+14155550403' });
    const result = await run(patient, sendNow('promo', 'marketing'));
    assert.deepEqual(
      [result.timeline[0]?.outcome, result.timeline[0]?.reason],
      ['suppressed', 'no-marketing-consent'],
    );
    const rows = await database.owner.db.execute<{ status: string; reason: string }>(
      sql`select status, reason from deliveries where patient_id = ${patient.patientId}`,
    );
    assert.deepEqual(
      [...rows].map((row) => [row.status, row.reason]),
      [['suppressed', 'no-marketing-consent']],
    );
  });

  it('defers a second journey over the daily cap to the next morning, and closes it if the journey ends first', async () => {
    const patient = await createPatient(database.db, { timeZone: daytimeZone, phone: '+14155550404' });
    await run(patient, sendNow('first-journey'));
    const taskQueue = uniqueTaskQueue('jcap');
    const worker = await createTestWorker(nativeConnection, taskQueue, database.db, peers);
    const planned = await worker.runUntil(async () => {
      const handle = await startJourney(client, taskQueue, {
        ...patient,
        episode: randomUUID(),
        definition: sendNow('second-journey'),
        anchorDate: '2027-01-01',
      });
      let next: number | null = null;
      for (let i = 0; i < 50 && (next === null || next <= Date.now()); i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        next = await handle.query(nextSendQuery);
      }
      await handle.signal(cancelSignal);
      await handle.result();
      return next;
    });
    const tomorrowMorning = DateTime.now()
      .setZone(daytimeZone)
      .plus({ days: 1 })
      .set({ hour: 8, minute: 0, second: 0, millisecond: 0 });
    assert.equal(planned, tomorrowMorning.toMillis());
    assert.equal(peers.sms.messages().filter((message) => message.to === '+14155550404').length, 1);
    // Cancelled while deferred: the due step still ends as one delivery, suppressed with the reason.
    const rows = await database.owner.db.execute<{ status: string; reason: string | null }>(
      sql`select status, reason from deliveries where patient_id = ${patient.patientId} order by status`,
    );
    assert.deepEqual(
      [...rows].map((row) => [row.status, row.reason]),
      [
        ['sent', null],
        ['suppressed', 'journey-ended'],
      ],
    );
  });

  it('suppresses every send to a patient who is no longer active, before any other rule', async () => {
    const patient = await createPatient(database.db, { timeZone: daytimeZone, phone: '+14155550407' });
    await database.owner.db.execute(
      sql`update patients set status = 'inactive' where id = ${patient.patientId}`,
    );
    const result = await run(patient, sendNow('after-leaving'));
    assert.deepEqual(
      [result.timeline[0]?.outcome, result.timeline[0]?.reason],
      ['suppressed', 'patient-inactive'],
    );
    assert.equal(peers.sms.messages().filter((message) => message.to === '+14155550407').length, 0);
  });

  it('ends an enrolled journey in its last send, with the exit step’s reason and no planned send left', async () => {
    const patient = await createPatient(database.db, { timeZone: daytimeZone, phone: '+14155550408' });
    const taskQueue = uniqueTaskQueue('jend');
    const worker = await createTestWorker(nativeConnection, taskQueue, database.db, peers, client);
    const definition = sendAfter('results-ready', 'PT1S');
    definition.steps[2] = { id: 'done', type: 'exit', reason: 'results-shared' };
    const { enrolled, result, markers } = await worker.runUntil(async () => {
      const deps = { db: database.db, cipher: testCipher, client, taskQueue };
      const enrolled = await enroll(deps, {
        ...patient,
        journey: definition,
        anchorDate: '2027-01-01',
        occurrence: 'one',
      });
      const handle = client.workflow.getHandle<typeof journeyWorkflow>(enrolled.workflowId);
      const result = await handle.result();
      const { events } = await handle.fetchHistory();
      const markers = events!.filter((event) => event.markerRecordedEventAttributes).length;
      return { enrolled, result, markers };
    });
    const [row] = await database.owner.db.execute<{
      status: string;
      outcome: string;
      end_reason: string | null;
      next_send_at: string | null;
    }>(
      sql`select status, outcome, end_reason, next_send_at from enrollments where workflow_id = ${enrolled.workflowId}`,
    );
    assert.deepEqual(
      [row?.status, row?.outcome, row?.end_reason, row?.next_send_at],
      ['completed', 'completed', 'results-shared', null],
    );
    assert.equal(result.outcome, 'completed');
    assert.deepEqual(
      result.timeline.map((entry) => [entry.step, entry.outcome]),
      [
        ['hello', 'sent'],
        ['done', 'exited'],
      ],
    );
    // One local activity, the send: the wait was planned with the enrollment, and the end took no step.
    assert.equal(markers, 1);
  });

  it('leaves an enrollment that ended during its last send as it ended, for the journey to record its own end', async () => {
    const activities = await activitiesFor(database.db, peers);
    const deps = { db: database.db, cipher: testCipher, client, taskQueue: 'unused' };
    /** A patient enrolled (row only) in a one-send journey, and that send with nothing after it. */
    async function lastSend(phone: string) {
      const patient = await createPatient(database.db, { timeZone: daytimeZone, phone });
      const { workflowId } = await withClinic(database.db, patient.clinicId, (tx) =>
        claimEnrollmentIn(tx, deps, {
          ...patient,
          journey: sendNow('last-send'),
          anchorDate: '2027-01-01',
          occurrence: 'one',
        }),
      );
      const send = () =>
        new MockActivityEnvironment().run<
          [SendJourneyStepInput],
          SendJourneyStepOutcome,
          JourneyActivities['sendJourneyStep']
        >(activities.sendJourneyStep.bind(activities), {
          ...patient,
          workflowId,
          journeyKey: 'last-send',
          stepId: 'hello',
          category: 'transactional',
          template: 'reminder',
          variant: null,
          channels: 'preferred',
          facts: { lastVisitDate: '2027-01-01' },
          dueAt: Date.now(),
          idempotencyKey: `${workflowId}:hello:0`,
          endsJourney: { reason: null },
        });
      const row = async () =>
        (
          await database.owner.db.execute<{ status: string; outcome: string }>(
            sql`select status, outcome from enrollments where workflow_id = ${workflowId}`,
          )
        ).map((found) => [found.status, found.outcome]);
      return { workflowId, send, row };
    }
    const endedBy = (outcome: SendJourneyStepOutcome) => [
      outcome.kind,
      outcome.kind === 'done' && outcome.ended === true,
    ];

    const active = await lastSend('+14155550409');
    assert.deepEqual(endedBy(await active.send()), ['done', true]);
    assert.deepEqual(await active.row(), [['completed', 'completed']]);

    // Cancelled by the API while the message was going out: the cancellation stands, and the send says
    // it ended nothing, so the journey records its own end (which changes nothing either).
    const cancelled = await lastSend('+14155550410');
    await database.owner.db.execute(
      sql`update enrollments set status = 'cancelled', outcome = 'cancelled' where workflow_id = ${cancelled.workflowId}`,
    );
    assert.deepEqual(endedBy(await cancelled.send()), ['done', false]);
    assert.deepEqual(await cancelled.row(), [['cancelled', 'cancelled']]);

    // A retry of a send already settled ends nothing more: the first attempt's transaction did.
    assert.deepEqual(endedBy(await active.send()), ['done', false]);
    assert.equal(
      peers.sms.messages().filter((message) => ['+14155550409', '+14155550410'].includes(message.to)).length,
      2,
    );
  });

  describe('transactional before marketing under the caps', () => {
    const optIn = (patient: { clinicId: string; patientId: string }) =>
      withClinic(database.db, patient.clinicId, (tx) =>
        recordConsent(tx, testCipher, {
          ...patient,
          channel: 'sms',
          category: 'marketing',
          granted: true,
          source: 'web-form',
        }),
      );
    const sentTo = (phone: string) => peers.sms.messages().filter((message) => message.to === phone);

    it('a marketing send gives way to a transactional one planned the same day', async () => {
      const patient = await createPatient(database.db, { timeZone: daytimeZone, phone: '+14155550405' });
      await optIn(patient);
      const taskQueue = uniqueTaskQueue('jprio');
      const deps = { db: database.db, cipher: testCipher, client, taskQueue };
      const worker = await createTestWorker(nativeConnection, taskQueue, database.db, peers, client);
      const { sentBeforeCancel, promoPlannedFor } = await worker.runUntil(async () => {
        const enrolled = (definition: JourneyDefinition) =>
          enroll(deps, { ...patient, journey: definition, anchorDate: '2027-01-01', occurrence: 'one' });
        const transactional = await enrolled(sendAfter('lab-ready', 'PT1H'));
        const startedAt = Date.now();
        await waitFor(async () => {
          const [row] = await database.owner.db.execute<{ next_send_at: string | null }>(
            sql`select next_send_at from enrollments where workflow_id = ${transactional.workflowId}`,
          );
          // An hour after the journey started.
          const planned = row?.next_send_at ? new Date(row.next_send_at).getTime() : 0;
          return Math.abs(planned - startedAt - 3_600_000) < 30_000;
        }, 'the transactional send to be planned an hour ahead');
        const marketing = await enrolled(sendNow('flu-clinic-promo', 'marketing'));
        const promo = client.workflow.getHandle<typeof journeyWorkflow>(marketing.workflowId);
        let promoPlannedFor: number | null = null;
        await waitFor(async () => {
          promoPlannedFor = await promo.query(nextSendQuery);
          return promoPlannedFor !== null && promoPlannedFor > Date.now();
        }, 'the marketing send to be deferred');
        const sentBeforeCancel = sentTo('+14155550405').length;
        const reminder = client.workflow.getHandle<typeof journeyWorkflow>(transactional.workflowId);
        for (const handle of [promo, reminder]) {
          await handle.signal(cancelSignal);
          await handle.result();
        }
        return { sentBeforeCancel, promoPlannedFor };
      });
      assert.equal(sentBeforeCancel, 0, 'nothing went out: the marketing send gave way to a planned one');
      const tomorrowMorning = DateTime.now()
        .setZone(daytimeZone)
        .plus({ days: 1 })
        .set({ hour: 8, minute: 0, second: 0, millisecond: 0 });
      assert.equal(promoPlannedFor, tomorrowMorning.toMillis());
    });

    it('never holds a transactional send back because marketing went first', async () => {
      const patient = await createPatient(database.db, { timeZone: daytimeZone, phone: '+14155550406' });
      await optIn(patient);
      const promo = await run(patient, sendNow('newsletter', 'marketing'));
      const reminder = await run(patient, sendNow('refill-ready'));
      assert.deepEqual([promo.timeline[0]?.outcome, reminder.timeline[0]?.outcome], ['sent', 'sent']);
      assert.equal(sentTo('+14155550406').length, 2);
    });
  });
});
