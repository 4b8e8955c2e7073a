// Replies reaching journeys that are waiting, end to end: texts leave through the Twilio peer, the patient
// answers through it (signed webhooks into the API), and the journeys on the dev server act on the answer.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DateTime } from 'luxon';
import { sql } from 'drizzle-orm';
import { recordConsent } from '../../db/queries/consents';
import { withClinic } from '../../db/tenant';
import { eventSignal } from '../../domain/journey';
import type { JourneyDefinition } from '../../journeys/schema';
import { enroll } from '../../usecases/enroll';
import type { journeyWorkflow } from '../../workflows/journey';
import { bearer, startApiHarness, type ApiHarness } from '../support/api';
import { createPatient, daytimeZone } from '../support/fixtures';
import { testCipher, waitFor } from '../support/harness';

const INBOUND = 'https://carebell.test/webhooks/twilio/inbound';
const DAY_MS = 24 * 60 * 60 * 1000;

/** A journey's result, or a failure naming what hung (a wait the test did not expect). */
const within = <T>(promise: Promise<T>, what: string, ms = 30_000) =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms).unref(),
    ),
  ]);

/** Texts, waits for the clinic's word to go on, then sends again: the wait is where the STOP arrives. */
const twoMessages: JourneyDefinition = {
  key: 'two-messages',
  version: 1,
  name: 'Two messages',
  category: 'transactional',
  trigger: { event: 'test.start' },
  anchor: 'lastVisitDate',
  goal: { event: 'test.goal' },
  steps: [
    { id: 'first', type: 'send', template: 'reminder', channels: 'preferred' },
    { id: 'hold', type: 'waitForEvent', event: 'test.next', timeout: 'P7D' },
    { id: 'second', type: 'send', template: 'reminder', channels: 'preferred' },
    { id: 'done', type: 'exit' },
  ],
};

const promotion: JourneyDefinition = {
  ...twoMessages,
  key: 'promotion',
  name: 'Promotion',
  category: 'marketing',
  steps: [
    { id: 'later', type: 'wait', for: 'P2D' },
    { id: 'offer', type: 'send', template: 'reminder', channels: 'preferred' },
    { id: 'done', type: 'exit' },
  ],
};

describe('replies while a journey waits', () => {
  let harness: ApiHarness;
  // The worker's clock runs ahead by this much once the test moves it: the daily cap counts local days.
  let ahead = 0;
  before(async () => {
    harness = await startApiHarness({ clock: () => Date.now() + ahead });
  });
  after(() => harness?.close());

  const shared = () => harness.peers.twilio.fromNumber!;
  const text = (from: string, body: string) =>
    harness.peers.sms.receive({ from, to: shared(), body, url: INBOUND });
  const textsTo = (phone: string) =>
    harness.peers.sms.messages().filter((message) => message.to === phone && message.direction !== 'reply');
  const repliesTo = (phone: string) =>
    harness.peers.sms.messages().filter((message) => message.to === phone && message.direction === 'reply');
  const emailsTo = async (address: string) =>
    (await harness.peers.smtp.messages()).filter((raw) => raw.includes(`To: ${address}`));
  const deps = () => ({
    db: harness.database.db,
    cipher: testCipher,
    client: harness.temporal.client,
    taskQueue: harness.taskQueue,
  });

  it('STOP while a journey waits: no further text, the next message by email, one confirmation; marketing ends', async () => {
    const phone = '+14155550931';
    const email = 'waiting-stop@example.com';
    const patient = await createPatient(harness.database.db, { phone, email, channel: 'sms' });
    await withClinic(harness.database.db, patient.clinicId, async (tx) => {
      for (const channel of ['sms', 'email'] as const)
        await recordConsent(tx, testCipher, {
          ...patient,
          channel,
          category: 'marketing',
          granted: true,
          source: 'test',
          actor: 'test',
        });
    });
    const today = DateTime.now().setZone(daytimeZone).toISODate()!;
    const [waiting, marketing] = await Promise.all(
      [twoMessages, promotion].map((journey) =>
        enroll(deps(), { ...patient, journey, anchorDate: today, occurrence: `stop-${journey.key}` }),
      ),
    );
    await waitFor(() => textsTo(phone).length === 1, 'the first text');
    assert.equal((await emailsTo(email)).length, 0);

    const stop = await text(phone, 'STOP');
    assert.equal(stop.replies.length, 1);
    // The marketing journey ends at the opt-out, before its moment comes.
    const promotionHandle = harness.temporal.client.workflow.getHandle<typeof journeyWorkflow>(
      marketing!.workflowId,
    );
    const promoted = await within(promotionHandle.result(), 'the marketing journey to end');
    assert.equal(promoted.timeline.filter((entry) => entry.outcome === 'sent').length, 0);

    // A day later (one transactional message a day) the clinic's word comes and the journey goes on.
    ahead = DAY_MS;
    const handle = harness.temporal.client.workflow.getHandle<typeof journeyWorkflow>(waiting!.workflowId);
    await handle.signal(eventSignal, 'test.next');
    const result = await within(handle.result(), 'the second message');
    assert.deepEqual(
      result.timeline
        .filter((entry) => entry.step === 'first' || entry.step === 'second')
        .map((entry) => [entry.step, entry.outcome, entry.channel]),
      [
        ['first', 'sent', 'sms'],
        ['second', 'sent', 'email'],
      ],
    );
    assert.equal((await emailsTo(email)).length, 1);
    assert.equal(textsTo(phone).length, 1, 'no text after the STOP');
    assert.equal(repliesTo(phone).length, 1, 'exactly one confirmation');
    const [ended] = await harness.database.owner.db.execute<{ status: string }>(
      sql`select status from enrollments where workflow_id = ${marketing!.workflowId}`,
    );
    assert.notEqual(ended?.status, 'active');
  });

  it('CONFIRM and CANCEL APPT answer a waiting appointment journey; the EHR reads both back by enrollment', async () => {
    const [clinic] = harness.clinics;
    const key = clinic!.key;
    const call = (method: 'GET' | 'POST', url: string, payload?: object, headers = {}) =>
      harness.api.inject({ method, url, headers: { ...bearer(key), ...headers }, payload });
    const phone = '+13125550177';
    const created = await call('POST', '/v1/patients', {
      externalId: 'MRN-APPT-1',
      name: 'Riley Example',
      dateOfBirth: '1980-02-03',
      timeZone: daytimeZone,
      preferredChannel: 'sms',
      phones: [{ number: phone, use: 'mobile' }],
    });
    assert.ok(created.statusCode < 300, created.body);
    // The first reminder's moment (three days before, 10:00 local) is at most a day past: it goes now.
    const local = DateTime.now().setZone(daytimeZone);
    const appointmentDay = local.plus({ days: local.hour >= 10 ? 3 : 2 }).toISODate()!;
    const booked = await call(
      'POST',
      '/v1/events',
      {
        type: 'appointment.booked',
        patient: { ehrId: 'MRN-APPT-1' },
        eventId: 'appt-1-booked',
        subject: 'appt-1',
        anchorDate: appointmentDay,
        facts: { appointmentTime: '14:30' },
      },
      { 'idempotency-key': 'appt-1-booked' },
    );
    assert.equal(booked.statusCode, 200, booked.body);
    const [started] = booked.json<{ started: { journey: string; enrollmentId: string }[] }>().started;
    assert.equal(started?.journey, 'appointment-reminder');
    const enrollment = async () =>
      (await call('GET', `/v1/enrollments/${started.enrollmentId}`)).json<{
        status: string;
        outcome: string | null;
        endReason: string | null;
        deliveries: { status: string }[];
        replies: { intent: string; enrollmentId: string }[];
      }>();

    await waitFor(() => textsTo(phone).length === 1, 'the first appointment reminder');
    assert.match(textsTo(phone)[0]!.body, /Reply CONFIRM or CANCEL APPT/);

    await text(phone, 'Confirm');
    await waitFor(
      async () => (await enrollment()).replies.length === 1,
      'the confirmation on the enrollment',
    );
    const confirmed = await enrollment();
    assert.equal(confirmed.status, 'active', 'a confirmation leaves the reminders running');
    assert.deepEqual(
      confirmed.replies.map((reply) => [reply.intent, reply.enrollmentId]),
      [['confirm', started.enrollmentId]],
    );

    await text(phone, 'cancel appt');
    const handle = harness.temporal.client.workflow.getHandle<typeof journeyWorkflow>(
      booked.json<{ started: { workflowId: string }[] }>().started[0]!.workflowId,
    );
    const result = await within(handle.result(), 'the cancellation');
    assert.equal(result.timeline.at(-1)?.reason, 'patient-cancelled');
    await waitFor(async () => (await enrollment()).status !== 'active', 'the enrollment to end');
    const cancelled = await enrollment();
    assert.deepEqual([cancelled.outcome, cancelled.endReason], ['ended', 'patient-cancelled']);
    assert.deepEqual(
      cancelled.replies.map((reply) => reply.intent),
      ['confirm', 'cancel'],
    );
    assert.equal(textsTo(phone).length, 1, 'nothing more was sent');
    // CANCEL APPT is not an opt-out: texts stay allowed.
    const consents = await call('GET', `/v1/patients/${created.json<{ id: string }>().id}/consents`);
    assert.ok(
      !consents
        .json<{ consents: { channel: string; granted: boolean }[] }>()
        .consents.some((consent) => consent.channel === 'sms' && !consent.granted),
    );
  });
});
