// SMS replies and delivery status against the real stack: the API's Twilio webhooks (signed as Twilio
// signs them, by the local Twilio peer), PostgreSQL, Temporal with a worker, and the SMTP peer.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { sql } from 'drizzle-orm';
import type { Activities } from '../../activities';
import type { SendReminderInput, SendReminderOutcome } from '../../domain/reminder';
import { twilioSignature } from '../../peers/twilio-peer';
import { activitiesFor, createPatient } from '../support/fixtures';
import { bearer, startApiHarness, type ApiHarness } from '../support/api';

const INBOUND = 'https://carebell.test/webhooks/twilio/inbound';
const STATUS = 'https://carebell.test/webhooks/twilio/status';

describe('SMS replies and delivery status', () => {
  let harness: ApiHarness;
  let activities: Awaited<ReturnType<typeof activitiesFor>>;
  before(async () => {
    harness = await startApiHarness();
    activities = await activitiesFor(harness.database.db, harness.peers);
  });
  after(async () => {
    await harness?.close();
  });

  const shared = () => harness.peers.twilio.fromNumber!;
  const text = (from: string, body: string) =>
    harness.peers.sms.receive({ from, to: shared(), body, url: INBOUND });
  const smsTo = (phone: string) => harness.peers.sms.messages().filter((message) => message.to === phone);
  const emailsTo = async (address: string) =>
    (await harness.peers.smtp.messages()).filter((raw) => raw.includes(`To: ${address}`));
  const owner = () => harness.database.owner.db;
  const count = async (query: ReturnType<typeof sql>) =>
    Number((await owner().execute<{ n: string }>(query))[0]!.n);
  const remind = (patient: { clinicId: string; patientId: string }) =>
    new MockActivityEnvironment().run<[SendReminderInput], SendReminderOutcome, Activities['sendReminder']>(
      activities.sendReminder.bind(activities),
      {
        ...patient,
        template: 'reminder',
        dueAt: Date.now(),
        idempotencyKey: `test:${randomUUID()}:send`,
      },
    );
  const until = async (check: () => Promise<boolean> | boolean, what: string, ms = 20_000) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const signedPost = (url: string, params: Record<string, string>, signature?: string) =>
    harness.api.inject({
      method: 'POST',
      url: new URL(url).pathname,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(signature === null
          ? {}
          : {
              'x-twilio-signature': signature ?? twilioSignature(harness.peers.twilio.authToken, url, params),
            }),
      },
      payload: new URLSearchParams(params).toString(),
    });

  it('refuses a forged or missing signature with 403 and changes nothing', async () => {
    const phone = '+14155550901';
    const patient = await createPatient(harness.database.db, { phone });
    const params = { MessageSid: `SM${'f'.repeat(32)}`, From: phone, To: shared(), Body: 'STOP' };
    const before = await count(sql`select count(*) as n from inbound_messages`);
    const forged = await signedPost(INBOUND, params, twilioSignature('not-the-token', INBOUND, params));
    assert.equal(forged.statusCode, 403);
    assert.match(forged.headers['content-type'] as string, /problem\+json/);
    assert.equal(
      (JSON.parse(forged.body) as { type: string }).type,
      'https://carebell.dev/problems/invalid-signature',
    );
    const missing = await harness.api.inject({
      method: 'POST',
      url: '/webhooks/twilio/inbound',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(params).toString(),
    });
    assert.equal(missing.statusCode, 403);
    // Signed for another URL (a replay against the status webhook).
    assert.equal(
      (await signedPost(STATUS, params, twilioSignature(harness.peers.twilio.authToken, INBOUND, params)))
        .statusCode,
      403,
    );
    assert.equal(await count(sql`select count(*) as n from inbound_messages`), before);
    assert.equal(
      await count(sql`select count(*) as n from consents where patient_id = ${patient.patientId}`),
      0,
    );
    assert.equal(smsTo(phone).length, 0);
  });

  it('STOP revokes SMS consent at once with one confirmation; texts stop, email goes on; START restores', async () => {
    const phone = '+14155550902';
    const email = 'stop-test@example.com';
    const patient = await createPatient(harness.database.db, { phone, email });

    const stop = await text(phone, '  Stop! ');
    assert.equal(stop.httpStatus, 200);
    assert.equal(stop.replies.length, 1);
    assert.match(stop.replies[0]!.body, /no more texts/);
    assert.equal(stop.replies[0]!.to, phone);
    const rows = await owner().execute<{ category: string; granted: boolean; source: string }>(
      sql`select category, granted, source from consents where patient_id = ${patient.patientId} order by category`,
    );
    assert.deepEqual(
      rows.map((row) => [row.category, row.granted, row.source]),
      // No marketing opt-in to take away: only transactional texts are revoked.
      [['transactional', false, 'sms-reply']],
    );
    // A second STOP while opted out: recorded, but no second confirmation and no new consent row.
    const again = await text(phone, 'STOP');
    assert.equal(again.replies.length, 0);
    assert.equal(
      await count(sql`select count(*) as n from consents where patient_id = ${patient.patientId}`),
      1,
    );
    assert.equal(smsTo(phone).filter((message) => /no more texts/.test(message.body)).length, 1);

    // The next reminder goes by email, not SMS.
    const sent = await remind(patient);
    assert.equal(sent.kind === 'done' && sent.result.channel, 'email');
    assert.equal((await emailsTo(email)).length, 1);
    assert.equal(smsTo(phone).filter((message) => message.direction !== 'reply').length, 0);

    // START restores texts, with one confirmation.
    const start = await text(phone, 'start');
    assert.equal(start.replies.length, 1);
    assert.match(start.replies[0]!.body, /again/);
    // (The next text waits for tomorrow: one message a day.)
    const latest = await owner().execute<{ granted: boolean; source: string }>(
      sql`select granted, source from consents where patient_id = ${patient.patientId} and category = 'transactional' order by recorded_at desc limit 1`,
    );
    assert.deepEqual({ ...latest[0] }, { granted: true, source: 'sms-reply' });
    assert.equal((await text(phone, 'START')).replies.length, 0);

    // The timeline shows the replies as understood, never their text.
    const timeline = await harness.api.inject({
      method: 'GET',
      url: `/v1/patients/${patient.patientId}/timeline`,
      headers: bearer(harness.clinics[0]!.key),
    });
    // The patient belongs to its own clinic, not the harness's: 404 for another clinic's key.
    assert.equal(timeline.statusCode, 404);
  });

  it('answers HELP with the clinic, its phone and how to stop, in Spanish for AYUDA from a Spanish speaker', async () => {
    const phone = '+14155550903';
    const patient = await createPatient(harness.database.db, { phone, language: 'es' });
    await owner().execute(
      sql`update clinics set display_name = 'Riverside Clinic', contact_phone = '+13125550100' where id = ${patient.clinicId}`,
    );
    const help = await text(phone, 'ayuda');
    assert.equal(help.replies.length, 1);
    assert.match(help.replies[0]!.body, /Riverside Clinic/);
    assert.match(help.replies[0]!.body, /\(312\) 555-0100/);
    assert.match(help.replies[0]!.body, /STOP/);
    assert.match(help.replies[0]!.body, /recordatorios/, 'in Spanish');
  });

  it('flags a stop in other words for staff and shows it on the timeline, without opting out', async () => {
    const phone = '+14155550904';
    const created = await harness.api.inject({
      method: 'POST',
      url: '/v1/patients',
      headers: bearer(harness.clinics[0]!.key),
      payload: {
        externalId: `MRN-${randomUUID().slice(0, 8)}`,
        name: 'Flag Test',
        dateOfBirth: '1970-02-03',
        phones: [{ number: phone, use: 'mobile' }],
        emails: [],
      },
    });
    assert.ok(created.statusCode === 201 || created.statusCode === 200, created.body);
    const patientId = (JSON.parse(created.body) as { id: string }).id;
    const answer = await text(phone, 'please stop texting me');
    assert.equal(answer.replies.length, 0);
    const timeline = await harness.api.inject({
      method: 'GET',
      url: `/v1/patients/${patientId}/timeline`,
      headers: bearer(harness.clinics[0]!.key),
    });
    assert.equal(timeline.statusCode, 200, timeline.body);
    const { replies } = JSON.parse(timeline.body) as { replies: { intent: string; flagged: boolean }[] };
    assert.deepEqual(
      replies.map(({ intent, flagged }) => ({ intent, flagged })),
      [{ intent: 'other', flagged: true }],
    );
    assert.doesNotMatch(timeline.body, /texting/);
    assert.equal(
      await count(
        sql`select count(*) as n from consents where patient_id = ${patientId} and granted = false`,
      ),
      0,
    );
  });

  it('records status callbacks forward only: duplicates and late earlier statuses change nothing', async () => {
    const phone = '+14155550905';
    const patient = await createPatient(harness.database.db, { phone });
    const sent = await remind(patient);
    assert.ok(sent.kind === 'done');
    const deliveryId = sent.result.deliveryId;
    const sid = sent.result.providerMessageId!;
    await harness.peers.sms.settled();
    const statuses = async () =>
      (
        await owner().execute<{ provider_status: string }>(
          sql`select provider_status from delivery_events where delivery_id = ${deliveryId} order by occurred_at`,
        )
      ).map((row) => row.provider_status);
    await until(async () => (await statuses()).includes('delivered'), 'delivered');
    const [row] = await owner().execute<{ status: string }>(
      sql`select status from deliveries where id = ${deliveryId}`,
    );
    assert.equal(row!.status, 'delivered');
    const recorded = await statuses();
    const params = (status: string) => ({
      MessageSid: sid,
      MessageStatus: status,
      To: phone,
      From: shared(),
    });
    for (const status of ['delivered', 'sent', 'queued', 'undelivered']) {
      const answer = await signedPost(STATUS, params(status));
      assert.equal(answer.statusCode, 204);
    }
    assert.deepEqual(await statuses(), recorded);
    const [still] = await owner().execute<{ status: string }>(
      sql`select status from deliveries where id = ${deliveryId}`,
    );
    assert.equal(still!.status, 'delivered');
    // No second message went anywhere.
    assert.equal(smsTo(phone).length, 1);
  });

  it('sends an undelivered text again by email, in the same delivery, once', async () => {
    const phone = '+14155550906';
    const email = 'fallback@example.com';
    const patient = await createPatient(harness.database.db, { phone, email });
    harness.peers.sms.undeliverNext({ to: phone, errorCode: 30003 });
    const sent = await remind(patient);
    assert.ok(sent.kind === 'done');
    assert.equal(sent.result.channel, 'sms');
    const deliveryId = sent.result.deliveryId;
    await until(async () => (await emailsTo(email)).length > 0, 'the fallback email');
    await until(async () => {
      const [row] = await owner().execute<{ status: string }>(
        sql`select status from deliveries where id = ${deliveryId}`,
      );
      return row?.status === 'sent';
    }, 'the delivery completed by email');
    // A repeated undelivered callback starts nothing more.
    const params = {
      MessageSid: sent.result.providerMessageId!,
      MessageStatus: 'undelivered',
      ErrorCode: '30003',
    };
    assert.equal((await signedPost(STATUS, params)).statusCode, 204);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal((await emailsTo(email)).length, 1);
    const rows = await owner().execute<{ channel: string; status: string; reason: string | null }>(
      sql`select channel, status, reason from deliveries where patient_id = ${patient.patientId}`,
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.channel, 'email');
    assert.equal(rows[0]!.status, 'sent');
    const events = await owner().execute<{ provider_status: string; provider_error: string | null }>(
      sql`select provider_status, provider_error from delivery_events where delivery_id = ${deliveryId}`,
    );
    assert.ok(
      events.some((event) => event.provider_status === 'undelivered' && event.provider_error === '30003'),
    );
  });
});
