// The one send path at the moment of sending, against real PostgreSQL and the local Twilio and SMTP peers:
// rules checked at each attempt, caps that hold under concurrency and per number, the suppression list,
// vendor outcomes classified as the vendors define them, and the preview agreeing with all of it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { createSimulationActivities, type SamplePatient } from '../../activities/simulation';
import { recordConsent } from '../../db/queries/consents';
import { suppressAddress } from '../../db/queries/suppressions';
import { withClinic } from '../../db/tenant';
import type { SendJourneyStepInput } from '../../domain/journey';
import type { Channel } from '../../domain/messaging';
import type { SendReminderInput } from '../../domain/reminder';
import { smsLength } from '../../rules/sms-segments';
import { activitiesFor, createPatient, daytimeZone } from '../support/fixtures';
import { createTestDatabase, startTestPeers, testCipher } from '../support/harness';

const zone = 'America/New_York';

describe('the send path at the moment of sending', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let peers: Awaited<ReturnType<typeof startTestPeers>>;

  before(async () => {
    [database, peers] = await Promise.all([createTestDatabase(), startTestPeers()]);
  });
  after(async () => {
    await peers?.stop();
    await database?.close();
  });

  const smsTo = (phone: string) => peers.sms.messages().filter((message) => message.to === phone);
  const emailsTo = async (address: string) =>
    (await peers.smtp.messages()).filter((raw) => raw.includes(`To: ${address}`));
  /** Runs an activity as Temporal would, with an attempt number. */
  const attempt = <I, O>(activity: (input: I) => Promise<O>, input: I, attemptNumber = 1) =>
    new MockActivityEnvironment({ attempt: attemptNumber }).run<[I], O, typeof activity>(activity, input);
  const reminderInput = (patient: { clinicId: string; patientId: string }, dueAt = Date.now()) =>
    ({
      ...patient,
      template: 'reminder',
      dueAt,
      idempotencyKey: `test:${randomUUID()}:send`,
    }) satisfies SendReminderInput;
  const local = (iso: string) => DateTime.fromISO(iso, { zone }).toMillis();

  it('defers a retry that finds itself past 21:00 to 08:00 local, and sends once then', async () => {
    const patient = await createPatient(database.db, { timeZone: zone, phone: '+14155550601' });
    let now = local('2027-03-02T20:59:50');
    const activities = await activitiesFor(database.db, peers, undefined, { clock: () => now });
    const input = reminderInput(patient, local('2027-03-02T20:59:00'));
    // The provider is down for the first attempt.
    peers.sms.failNext(503);
    await assert.rejects(attempt(activities.sendReminder.bind(activities), input), (error: unknown) => {
      assert.ok(error instanceof ApplicationFailure);
      assert.equal(error.type, 'ChannelUnavailable');
      return true;
    });
    // The retry runs at 21:00:20: outside the window, whatever the due time said.
    now = local('2027-03-02T21:00:20');
    const retried = await attempt(activities.sendReminder.bind(activities), input, 2);
    assert.deepEqual(retried, { kind: 'defer', until: local('2027-03-03T08:00'), reason: 'quiet-hours' });
    assert.equal(smsTo('+14155550601').length, 0);
    now = local('2027-03-03T08:00');
    const sent = await attempt(activities.sendReminder.bind(activities), { ...input, dueAt: now }, 3);
    assert.equal(sent.kind === 'done' && sent.result.status, 'sent');
    assert.equal(smsTo('+14155550601').length, 1);
  });

  it('refuses a send for a patient that does not exist at once, leaving no delivery row', async () => {
    const activities = await activitiesFor(database.db, peers);
    const { clinicId } = await createPatient(database.db, { phone: '+14155550699' });
    const input = reminderInput({ clinicId, patientId: randomUUID() });
    await assert.rejects(attempt(activities.sendReminder.bind(activities), input), (error: unknown) => {
      assert.ok(error instanceof ApplicationFailure);
      assert.equal(error.type, 'PatientNotFound');
      // Not a database error that Temporal would retry for ever.
      assert.equal(error.nonRetryable, true);
      return true;
    });
    const rows = await withClinic(database.db, clinicId, (tx) =>
      tx.execute(sql`select 1 from deliveries where idempotency_key = ${input.idempotencyKey}`),
    );
    assert.equal(rows.length, 0);
  });

  it('holds the caps when two workers race: one sends, the other defers', async () => {
    const patient = await createPatient(database.db, { phone: '+14155550602' });
    const [workerA, workerB] = await Promise.all([
      activitiesFor(database.db, peers),
      activitiesFor(database.db, peers),
    ]);
    const step = (key: string): SendJourneyStepInput => ({
      ...patient,
      workflowId: `journey:${key}`,
      journeyKey: key,
      stepId: 'hello',
      category: 'transactional',
      template: 'reminder',
      variant: null,
      channels: 'preferred',
      facts: {},
      dueAt: Date.now(),
      idempotencyKey: `test:${randomUUID()}`,
    });
    const outcomes = await Promise.all([
      attempt(workerA.sendJourneyStep.bind(workerA), step('first')),
      attempt(workerB.sendJourneyStep.bind(workerB), step('second')),
    ]);
    assert.deepEqual(outcomes.map((outcome) => outcome.kind).sort(), ['defer', 'done']);
    assert.equal(smsTo('+14155550602').length, 1);
  });

  it('counts family members sharing one number against that number', async () => {
    const parent = await createPatient(database.db, { phone: '+14155550603', email: 'parent@example.org' });
    const child = await createPatient(database.db, {
      clinicId: parent.clinicId,
      phone: '+14155550603',
      email: 'child@example.org',
      name: 'Child Patient',
    });
    const activities = await activitiesFor(database.db, peers);
    const first = await attempt(activities.sendReminder.bind(activities), reminderInput(parent));
    assert.equal(first.kind, 'done');
    const second = await attempt(activities.sendReminder.bind(activities), reminderInput(child));
    assert.equal(second.kind, 'defer', 'the shared phone already had its message today');
    assert.equal(smsTo('+14155550603').length, 1);
  });

  it("suppresses an opted-out patient's reminder, and never texts a suppressed number", async () => {
    const optedOut = await createPatient(database.db, { phone: '+14155550604' });
    await withClinic(database.db, optedOut.clinicId, async (tx) => {
      for (const channel of ['sms', 'email'] as Channel[]) {
        await recordConsent(tx, testCipher, {
          ...optedOut,
          channel,
          category: 'transactional',
          granted: false,
          source: 'test',
        });
      }
    });
    const activities = await activitiesFor(database.db, peers);
    const suppressed = await attempt(activities.sendReminder.bind(activities), reminderInput(optedOut));
    assert.ok(suppressed.kind === 'done');
    assert.deepEqual([suppressed.result.status, suppressed.result.reason], ['suppressed', 'opted-out']);

    const listed = await createPatient(database.db, { phone: '+14155550605', email: 'listed@example.org' });
    await withClinic(database.db, listed.clinicId, (tx) =>
      suppressAddress(tx, {
        clinicId: listed.clinicId,
        channel: 'sms',
        addressIndex: testCipher.blindIndex('phone', listed.clinicId, '+14155550605'),
        reason: 'carrier-opt-out',
      }),
    );
    const fellBack = await attempt(activities.sendReminder.bind(activities), reminderInput(listed));
    assert.ok(fellBack.kind === 'done');
    assert.deepEqual([fellBack.result.status, fellBack.result.channel], ['sent', 'email']);
    assert.equal(smsTo('+14155550605').length, 0, 'the suppressed number got nothing');
    assert.equal((await emailsTo('listed@example.org')).length, 1);
  });

  it('falls back to SMS when the relay refuses the message with 550 at DATA', async () => {
    const patient = await createPatient(database.db, {
      channel: 'email',
      phone: '+14155550606',
      email: 'refused@example.org',
    });
    const activities = await activitiesFor(database.db, peers);
    peers.smtp.failNext({ stage: 'data', code: 550 });
    const outcome = await attempt(activities.sendReminder.bind(activities), reminderInput(patient));
    assert.ok(outcome.kind === 'done');
    assert.deepEqual([outcome.result.status, outcome.result.channel], ['sent', 'sms']);
    assert.equal((await emailsTo('refused@example.org')).length, 0);
    assert.equal(smsTo('+14155550606').length, 1);
  });

  it("retries Twilio's 21611 and sends once; 21610 records the opt-out and stops marketing", async () => {
    const busy = await createPatient(database.db, { phone: '+14155550607' });
    const activities = await activitiesFor(database.db, peers);
    const input = reminderInput(busy);
    peers.sms.failNext({ status: 400, code: 21611, retryAfter: 30 });
    await assert.rejects(attempt(activities.sendReminder.bind(activities), input), (error: unknown) => {
      assert.ok(error instanceof ApplicationFailure);
      assert.equal(error.type, 'ChannelUnavailable');
      assert.equal(error.nonRetryable, false);
      assert.equal(error.nextRetryDelay, 30_000, "Twilio's Retry-After is kept");
      return true;
    });
    const retried = await attempt(activities.sendReminder.bind(activities), input, 2);
    assert.equal(retried.kind === 'done' && retried.result.status, 'sent');
    assert.equal(smsTo('+14155550607').length, 1);

    const stopped = await createPatient(database.db, { phone: '+14155550608', email: 'stopped@example.org' });
    await withClinic(database.db, stopped.clinicId, (tx) =>
      recordConsent(tx, testCipher, {
        ...stopped,
        channel: 'sms',
        category: 'marketing',
        granted: true,
        source: 'test',
      }),
    );
    await withClinic(database.db, stopped.clinicId, (tx) =>
      recordConsent(tx, testCipher, {
        ...stopped,
        channel: 'email',
        category: 'marketing',
        granted: true,
        source: 'test',
      }),
    );
    peers.sms.failNext({ status: 400, code: 21610 });
    const promo = await attempt(activities.sendJourneyStep.bind(activities), {
      ...stopped,
      workflowId: 'journey:promo',
      journeyKey: 'promo',
      stepId: 'hello',
      category: 'marketing',
      template: 'reminder',
      variant: null,
      channels: 'preferred',
      facts: {},
      dueAt: Date.now(),
      idempotencyKey: `test:${randomUUID()}`,
    });
    assert.ok(promo.kind === 'done');
    assert.deepEqual([promo.entry.outcome, promo.entry.reason], ['suppressed', 'carrier-opt-out']);
    assert.equal((await emailsTo('stopped@example.org')).length, 0, 'marketing does not fall back');
    const [consent] = await database.owner.db.execute<{ granted: boolean; source: string }>(
      sql`select granted, source from consents where patient_id = ${stopped.patientId} and channel = 'sms'
          and category = 'transactional' order by recorded_at desc limit 1`,
    );
    assert.deepEqual(consent, { granted: false, source: 'carrier:twilio-21610' });
    const [listed] = await database.owner.db.execute<{ count: number }>(
      sql`select count(*)::int as count from suppressions where clinic_id = ${stopped.clinicId}`,
    );
    assert.equal(listed?.count, 1);
  });

  it('finds a message Twilio still holds queued after an ambiguous 500, and sends exactly once', async () => {
    const patient = await createPatient(database.db, { phone: '+14155550609' });
    const activities = await activitiesFor(database.db, peers);
    const input = reminderInput(patient);
    peers.sms.holdQueued();
    try {
      // Twilio queued the message and then answered 500: the worker cannot know it went out.
      peers.sms.failNext({ status: 500, afterCreate: true });
      await assert.rejects(attempt(activities.sendReminder.bind(activities), input));
      assert.equal(smsTo('+14155550609').length, 1);
      assert.equal(smsTo('+14155550609')[0]?.date_sent, null, 'still queued, no send date');
      const retried = await attempt(activities.sendReminder.bind(activities), input, 2);
      assert.ok(retried.kind === 'done');
      assert.equal(retried.result.providerMessageId, smsTo('+14155550609')[0]?.sid);
      assert.equal(smsTo('+14155550609').length, 1, 'not sent a second time');
    } finally {
      peers.sms.release();
    }
  });

  it('never overlaps two email attempts, and resends an ambiguous one under the same Message-ID', async () => {
    const patient = await createPatient(database.db, { channel: 'email', email: 'ambiguous@example.org' });
    let skew = 0;
    const activities = await activitiesFor(database.db, peers, undefined, { clock: () => Date.now() + skew });
    const input = reminderInput(patient);
    await attempt(activities.sendReminder.bind(activities), input);
    // The relay said 250 and the worker died before completing the row.
    await database.owner.db.execute(
      sql`update deliveries set status = 'pending', completed_at = null, provider_message_id = null
          where idempotency_key = ${input.idempotencyKey}`,
    );
    await assert.rejects(attempt(activities.sendReminder.bind(activities), input, 2), (error: unknown) => {
      assert.ok(error instanceof ApplicationFailure);
      assert.equal(error.type, 'ChannelUnavailable', 'waits while the first conversation may be running');
      assert.ok(Number(error.nextRetryDelay) > 50_000);
      return true;
    });
    skew = 61_000;
    const resent = await attempt(activities.sendReminder.bind(activities), input, 3);
    assert.equal(resent.kind === 'done' && resent.result.status, 'sent');
    const copies = await emailsTo('ambiguous@example.org');
    assert.equal(copies.length, 2);
    const ids = copies.map((raw) => /^Message-ID: (.+)$/m.exec(raw)?.[1]);
    assert.equal(ids[0], ids[1], 'the same Message-ID, so the mailbox drops the duplicate');
  });

  it('sends one short SMS with the display name, phone and a short link, never the legal name', async () => {
    const patient = await createPatient(database.db, { phone: '+14155550610', language: 'es' });
    await database.owner.db.execute(
      sql`update clinics set name = 'Hope Oncology and Addiction Center', display_name = 'Hope Clinic',
          contact_phone = '+14155550100' where id = ${patient.clinicId}`,
    );
    const activities = await activitiesFor(database.db, peers);
    await attempt(activities.sendReminder.bind(activities), reminderInput(patient));
    const [message] = smsTo('+14155550610');
    assert.ok(message);
    assert.match(message.body, /^Hope Clinic: /);
    assert.doesNotMatch(message.body, /Oncology|Addiction/);
    assert.match(message.body, / Tel\. \(415\) 555-0100\. Responda STOP/, "the clinic's phone, in Spanish");
    assert.match(message.body, /https:\/\/carebell\.test\/m\/[A-Za-z0-9_-]{12} /);
    assert.equal(smsLength(message.body).segments, 1);
  });

  it("writes the whole message in the patient's language, else the clinic's, and records which and why", async () => {
    const somali = await createPatient(database.db, { phone: '+14155550612', language: 'so' });
    await database.owner.db.execute(
      sql`update clinics set settings = ${JSON.stringify({ defaultLanguage: 'es' })}::jsonb
          where id = ${somali.clinicId}`,
    );
    const taiwan = await createPatient(database.db, { phone: '+14155550613', language: 'zh-TW' });
    const activities = await activitiesFor(database.db, peers);
    const step = (patient: { clinicId: string; patientId: string }): SendJourneyStepInput => ({
      ...patient,
      workflowId: `journey:${randomUUID()}`,
      journeyKey: 'refill',
      stepId: 'refill-soon',
      category: 'transactional',
      template: 'refill-soon',
      // The clinic's own words in Traditional Chinese; Spanish has only the catalogue's.
      texts: { 'zh-Hant': { sms: '{{clinic}}：請到藥房續領處方。{{link}} 回覆STOP退訂。' } },
      variant: null,
      channels: 'preferred',
      facts: {},
      dueAt: Date.now(),
      idempotencyKey: `test:${randomUUID()}`,
    });
    const entry = async (patient: { clinicId: string; patientId: string }) => {
      const outcome = await attempt(activities.sendJourneyStep.bind(activities), step(patient));
      assert.equal(outcome.kind, 'done');
      return outcome.kind === 'done' ? outcome.entry : undefined;
    };
    const spanish = await entry(somali);
    assert.deepEqual([spanish?.outcome, spanish?.language, spanish?.languageFallback], ['sent', 'es', true]);
    assert.match(smsTo('+14155550612')[0]!.body, /^Test Clinic: surta pronto una receta en su farmacia\. /);
    const chinese = await entry(taiwan);
    assert.deepEqual([chinese?.language, chinese?.languageFallback], ['zh-Hant', undefined]);
    assert.match(
      smsTo('+14155550613')[0]!.body,
      /^Test Clinic：請到藥房續領處方。https:\/\/carebell\.test\/m\//,
    );
    const [row] = await withClinic(database.db, somali.clinicId, (tx) =>
      tx.execute<{ language: string; language_fallback: boolean }>(
        sql`select language, language_fallback from deliveries where patient_id = ${somali.patientId}`,
      ),
    );
    assert.deepEqual(row, { language: 'es', language_fallback: true });
  });

  it('agrees with the preview, reason for reason', async () => {
    // Each case is a patient set up for real and the same patient as a preview sample.
    const cases: {
      name: string;
      sample: SamplePatient;
      setup: (patient: { clinicId: string; patientId: string }) => Promise<void>;
      contacts?: { phone?: string; email?: string };
      category: 'transactional' | 'marketing';
    }[] = [
      {
        name: 'reachable, transactional',
        sample: {
          timeZone: daytimeZone,
          language: 'en',
          preferredChannel: 'sms',
          channels: ['sms', 'email'],
          marketingOptIn: false,
        },
        setup: async () => {},
        category: 'transactional',
      },
      {
        name: 'marketing without opt-in',
        sample: {
          timeZone: daytimeZone,
          language: 'en',
          preferredChannel: 'sms',
          channels: ['sms', 'email'],
          marketingOptIn: false,
        },
        setup: async () => {},
        category: 'marketing',
      },
      {
        name: 'opted out of SMS, falls to email',
        sample: {
          timeZone: daytimeZone,
          language: 'en',
          preferredChannel: 'sms',
          channels: ['email'],
          optedOut: ['sms'],
          marketingOptIn: false,
        },
        setup: (patient) => optOut(patient, ['sms']),
        category: 'transactional',
      },
      {
        name: 'opted out of everything',
        sample: {
          timeZone: daytimeZone,
          language: 'en',
          preferredChannel: 'sms',
          channels: [],
          optedOut: ['sms', 'email'],
          marketingOptIn: false,
        },
        setup: (patient) => optOut(patient, ['sms', 'email']),
        category: 'transactional',
      },
      {
        name: 'deceased',
        sample: {
          timeZone: daytimeZone,
          language: 'en',
          preferredChannel: 'sms',
          channels: ['sms', 'email'],
          marketingOptIn: false,
          status: 'deceased',
        },
        setup: async (patient) => {
          await database.owner.db.execute(
            sql`update patients set status = 'deceased' where id = ${patient.patientId}`,
          );
        },
        category: 'transactional',
      },
    ];
    const optOut = (patient: { clinicId: string; patientId: string }, channels: Channel[]) =>
      withClinic(database.db, patient.clinicId, async (tx) => {
        for (const channel of channels)
          await recordConsent(tx, testCipher, {
            ...patient,
            channel,
            category: 'transactional',
            granted: false,
            source: 'test',
          });
      });
    const activities = await activitiesFor(database.db, peers);
    for (const [index, testCase] of cases.entries()) {
      const patient = await createPatient(database.db, {
        timeZone: daytimeZone,
        phone: `+1415555062${index}`,
        email: `preview${index}@example.org`,
      });
      await testCase.setup(patient);
      const dueAt = Date.now();
      const step: SendJourneyStepInput = {
        ...patient,
        workflowId: `journey:preview-${index}`,
        journeyKey: 'preview',
        stepId: 'hello',
        category: testCase.category,
        template: 'reminder',
        variant: null,
        channels: 'preferred',
        facts: {},
        dueAt,
        idempotencyKey: `test:${randomUUID()}`,
      };
      const real = await attempt(activities.sendJourneyStep.bind(activities), step);
      const preview = await createSimulationActivities(testCase.sample).sendJourneyStep(step);
      const summary = (outcome: typeof real) =>
        outcome.kind === 'defer'
          ? ['defer', outcome.reason]
          : [outcome.entry.outcome, outcome.entry.channel ?? null, outcome.entry.reason ?? null];
      assert.deepEqual(summary(preview), summary(real), testCase.name);
    }
  });
});
