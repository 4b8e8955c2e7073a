// Email against the real peers and services (issue 14): multipart messages, marketing mail's postal
// address and RFC 8058 one-click unsubscribe (POST revokes and stops the marketing journey, GET does not),
// the unsubscribe page in Spanish, DKIM, a 5xx suppressing the address and falling back to SMS within the
// same delivery, a 4xx retried without a second delivery, and signed asynchronous bounces.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import { signBounce } from '../../api/routes/email-bounces';
import { createSmtpEmailSender } from '../../channels/smtp-email';
import { recordConsent } from '../../db/queries/consents';
import { withClinic } from '../../db/tenant';
import type { SendJourneyStepInput } from '../../domain/journey';
import type { Category, Channel } from '../../domain/messaging';
import type { SendReminderInput } from '../../domain/reminder';
import { bearer, startApiHarness, type ApiHarness } from '../support/api';
import { activitiesFor, createPatient } from '../support/fixtures';
import { testCipher, waitFor } from '../support/harness';

const SECRET = 'test-bounce-secret-0123456789abcdef0123456789';

/** The body of one MIME part, quoted-printable decoded. */
function part(raw: string, type: string): string | undefined {
  const at = raw.indexOf(`Content-Type: ${type}`);
  if (at < 0) return undefined;
  const rest = raw.slice(at);
  const bodyStart = rest.search(/\r?\n\r?\n/);
  const body = rest
    .slice(bodyStart)
    .replace(/^\s+/, '')
    .split(/\r?\n----_/)[0]!; // the next boundary ("--" + "--_…"), not the text's own "--"
  const qp = /Content-Transfer-Encoding: quoted-printable/i.test(rest.slice(0, bodyStart));
  if (!qp) return body;
  const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => `%${hex}`);
  return decodeURIComponent(bytes.replace(/%(?![0-9A-F]{2})/g, '%25'));
}

/** A header, unfolded. */
const header = (raw: string, name: string) =>
  new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, 'im')
    .exec(raw.split(/\r?\n\r?\n/)[0]!)?.[1]
    ?.replace(/\r?\n[ \t]+/g, ' ')
    .trim();

describe('email', () => {
  let harness: ApiHarness;
  let clinicId: string;
  let activities: Awaited<ReturnType<typeof activitiesFor>>;

  before(async () => {
    harness = await startApiHarness({ bounceWebhookSecret: SECRET });
    clinicId = harness.clinics[0]!.id;
    await harness.database.owner.db.execute(
      sql`update clinics set display_name = 'Lakeside <Care> & Co', brand_color = '#0a7d4f',
          postal_address = '100 Main St, Springfield, IL 62701',
          email_sender = 'care@lakeside.example', marketing_email_sender = 'news@lakeside.example'
          where id = ${clinicId}`,
    );
    activities = await activitiesFor(harness.database.db, harness.peers);
  });
  after(() => harness?.close());

  const attempt = <I, O>(activity: (input: I) => Promise<O>, input: I, attemptNumber = 1) =>
    new MockActivityEnvironment({ attempt: attemptNumber }).run<[I], O, typeof activity>(activity, input);
  const emailsTo = async (address: string) =>
    (await harness.peers.smtp.messages()).filter((raw) => raw.includes(`To: ${address}`));
  const smsTo = (phone: string) => harness.peers.sms.messages().filter((message) => message.to === phone);
  const patient = (email: string, phone: string, language = 'en', channel: Channel = 'email') =>
    createPatient(harness.database.db, { clinicId, email, phone, language, channel, name: 'Pat Example' });
  const reminder = (who: { clinicId: string; patientId: string }): SendReminderInput => ({
    ...who,
    template: 'reminder',
    dueAt: Date.now(),
    idempotencyKey: `test:${randomUUID()}`,
  });
  const step = (
    who: { clinicId: string; patientId: string },
    category: Category,
    workflowId = `journey:${randomUUID()}`,
  ): SendJourneyStepInput => ({
    ...who,
    workflowId,
    journeyKey: 'medicaid-renewal',
    stepId: 'renewal-due',
    category,
    template: 'medicaid-renewal-due',
    variant: null,
    channels: ['email'],
    facts: { renewalDueOn: DateTime.now().plus({ days: 30 }).toISODate() },
    dueAt: Date.now(),
    idempotencyKey: `test:${randomUUID()}`,
  });
  const optIn = (who: { clinicId: string; patientId: string }, channel: Channel) =>
    withClinic(harness.database.db, who.clinicId, (tx) =>
      recordConsent(tx, testCipher, {
        ...who,
        channel,
        category: 'marketing',
        granted: true,
        source: 'test',
      }),
    );
  const count = async (query: ReturnType<typeof sql>) =>
    Number((await harness.database.owner.db.execute<{ n: string }>(query))[0]?.n);

  it('sends multipart text and HTML with the same words, the display name and colour, and no List-Unsubscribe', async () => {
    const who = await patient('multipart@example.org', '+14155550701', 'es');
    const outcome = await attempt(activities.sendReminder.bind(activities), reminder(who));
    assert.equal(outcome.kind === 'done' && outcome.result.channel, 'email');
    const [raw] = await emailsTo('multipart@example.org');
    assert.ok(raw);
    assert.match(raw, /Content-Type: multipart\/alternative/);
    assert.match(header(raw, 'From') ?? '', /care@lakeside\.example/);
    assert.equal(header(raw, 'List-Unsubscribe'), undefined, 'transactional mail is not a list');
    const text = part(raw, 'text/plain')!;
    const html = part(raw, 'text/html')!;
    assert.match(text, /Lakeside <Care> & Co tiene un recordatorio/);
    assert.match(html, /<html lang="es" dir="ltr">/);
    assert.match(html, /Lakeside &lt;Care&gt; &amp; Co/, 'values are escaped');
    assert.ok(!html.includes('<Care>'));
    assert.match(html, /#0a7d4f/);
    const link = /https:\/\/carebell\.test\/m\/\S+/.exec(text)![0];
    assert.ok(html.includes(`href="${link}"`), 'the pickup link is in both parts');
    assert.ok(!/Pat Example/.test(raw), "never the patient's name");
  });

  it('sends marketing mail from its own sender with the postal address and RFC 8058 headers', async () => {
    const who = await patient('marketing@example.org', '+14155550702');
    await optIn(who, 'email');
    const outcome = await attempt(activities.sendJourneyStep.bind(activities), step(who, 'marketing'));
    assert.equal(outcome.kind === 'done' && outcome.entry.outcome, 'sent');
    const [raw] = await emailsTo('marketing@example.org');
    assert.ok(raw);
    assert.match(header(raw, 'From') ?? '', /news@lakeside\.example/);
    const listUnsubscribe = header(raw, 'List-Unsubscribe') ?? '';
    assert.match(listUnsubscribe, /^<https:\/\/carebell\.test\/u\/[A-Za-z0-9_-]{43}>$/);
    assert.equal(header(raw, 'List-Unsubscribe-Post'), 'List-Unsubscribe=One-Click');
    const url = listUnsubscribe.slice(1, -1);
    const text = part(raw, 'text/plain')!;
    const html = part(raw, 'text/html')!;
    for (const body of [text, html]) {
      assert.ok(body.includes('100 Main St, Springfield, IL 62701'), 'the postal address');
      assert.ok(body.includes(url), 'a visible unsubscribe link');
    }
  });

  it('unsubscribes by one-click POST: consent revoked, the marketing journey stopped; a GET changes nothing', async () => {
    const who = await patient('oneclick@example.org', '+14155550703');
    await optIn(who, 'email');
    const enrolled = await harness.api.inject({
      method: 'POST',
      url: '/v1/enrollments',
      headers: bearer(harness.clinics[0]!.key),
      payload: {
        patientId: who.patientId,
        journey: 'medicaid-renewal',
        anchorDate: DateTime.now().plus({ days: 90 }).toISODate(),
        facts: {
          renewalDueOn: DateTime.now().plus({ days: 90 }).toISODate(),
          coverageEndsOn: DateTime.now().plus({ days: 120 }).toISODate(),
          reconsiderBy: DateTime.now().plus({ days: 200 }).toISODate(),
        },
      },
    });
    assert.equal(enrolled.statusCode, 201, enrolled.body);
    const { id: enrollmentId } = enrolled.json<{ id: string }>();
    await attempt(activities.sendJourneyStep.bind(activities), step(who, 'marketing'));
    const [raw] = await emailsTo('oneclick@example.org');
    const url = new URL(header(raw!, 'List-Unsubscribe')!.slice(1, -1));

    const page = await harness.api.inject({ method: 'GET', url: url.pathname });
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] as string, /text\/html/);
    assert.match(page.body, /<form method="post"/);
    assert.equal(page.headers['cache-control'], 'no-store');
    const revocations = sql`select count(*) as n from consents where patient_id = ${who.patientId}
      and channel = 'email' and category = 'marketing' and granted = false`;
    assert.equal(await count(revocations), 0, 'a GET (a mail scanner) never unsubscribes');

    const oneClick = () =>
      harness.api.inject({
        method: 'POST',
        url: url.pathname,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'List-Unsubscribe=One-Click',
      });
    const done = await oneClick();
    assert.equal(done.statusCode, 200);
    assert.match(done.body, /You are unsubscribed/);
    assert.equal((await oneClick()).statusCode, 200, 'idempotent');
    assert.equal(await count(revocations), 1, 'one revocation however often it is posted');
    const [consent] = await harness.database.owner.db.execute<{ source: string }>(
      sql`select source from consents where patient_id = ${who.patientId} and granted = false`,
    );
    assert.equal(consent?.source, 'one-click-unsubscribe');
    await waitFor(async () => {
      const enrollment = await harness.api.inject({
        method: 'GET',
        url: `/v1/enrollments/${enrollmentId}`,
        headers: bearer(harness.clinics[0]!.key),
      });
      return enrollment.json<{ status: string }>().status !== 'active';
    }, 'the marketing journey to stop');
    // The next marketing email is suppressed: consent is re-read at the moment of sending.
    const next = await attempt(activities.sendJourneyStep.bind(activities), step(who, 'marketing'));
    assert.equal(next.kind === 'done' && next.entry.outcome, 'suppressed');
  });

  it('shows the unsubscribe page and its confirmation in Spanish', async () => {
    const who = await patient('spanish@example.org', '+14155550704', 'es');
    await optIn(who, 'email');
    await attempt(activities.sendJourneyStep.bind(activities), step(who, 'marketing'));
    const [raw] = await emailsTo('spanish@example.org');
    const url = new URL(header(raw!, 'List-Unsubscribe')!.slice(1, -1));
    const page = await harness.api.inject({ method: 'GET', url: url.pathname });
    assert.match(page.body, /<html lang="es"/);
    assert.match(page.body, /¿Dejar de recibir correos de Lakeside &lt;Care&gt; &amp; Co/);
    const done = await harness.api.inject({
      method: 'POST',
      url: url.pathname,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'confirm=unsubscribe',
    });
    assert.equal(done.statusCode, 200);
    assert.match(done.body, /Se canceló su suscripción/);
    const unknown = await harness.api.inject({ method: 'GET', url: `/u/${'x'.repeat(43)}` });
    assert.equal(unknown.statusCode, 404);
  });

  it('signs with DKIM when configured, covering the List-Unsubscribe headers', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const sender = createSmtpEmailSender(harness.peers.smtpSettings, {
      dkim: {
        domain: 'lakeside.example',
        selector: 'cb2026',
        privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      },
    });
    await sender.send({
      to: 'dkim@example.org',
      from: 'news@lakeside.example',
      subject: 'Signed',
      text: 'Hello',
      html: '<p>Hello</p>',
      messageId: `${randomUUID()}@lakeside.example`,
      headers: {
        'List-Unsubscribe': '<https://carebell.test/u/x>',
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
    });
    const [raw] = await emailsTo('dkim@example.org');
    const dns = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
    const result = await dkimVerify(Buffer.from(raw!), {
      resolver: (name: string) => {
        assert.equal(name, 'cb2026._domainkey.lakeside.example');
        return Promise.resolve([[dns]]);
      },
    });
    const [signature] = result.results;
    assert.equal(signature?.status.result, 'pass', signature?.status.comment);
    assert.equal(signature?.signingDomain, 'lakeside.example');
    assert.match(header(raw!, 'DKIM-Signature') ?? '', /h=[^;]*list-unsubscribe-post/i);
  });

  it('suppresses an address refused with 5xx (DATA or RCPT) and falls back to SMS in the same delivery', async () => {
    for (const [stage, address, phone] of [
      ['data', 'refused-data@example.org', '+14155550705'],
      ['rcpt', 'refused-rcpt@example.org', '+14155550706'],
    ] as const) {
      const who = await patient(address, phone);
      harness.peers.smtp.failNext({ stage, code: 550, to: address });
      const input = reminder(who);
      const outcome = await attempt(activities.sendReminder.bind(activities), input);
      assert.ok(outcome.kind === 'done');
      assert.deepEqual([outcome.result.status, outcome.result.channel], ['sent', 'sms']);
      assert.equal(smsTo(phone).length, 1);
      assert.equal((await emailsTo(address)).length, 0);
      assert.equal(
        await count(
          sql`select count(*) as n from deliveries where idempotency_key = ${input.idempotencyKey}`,
        ),
        1,
      );
      const index = testCipher.blindIndex('email', clinicId, address);
      assert.equal(
        await count(
          sql`select count(*) as n from suppressions where address_index = ${index} and channel = 'email'`,
        ),
        1,
      );
      // The next message skips the address without asking the relay.
      const next = await attempt(activities.sendReminder.bind(activities), {
        ...reminder(who),
        dueAt: Date.now() + 86_400_000 * 2,
      });
      assert.ok(next.kind === 'done' || next.kind === 'defer');
      assert.equal((await emailsTo(address)).length, 0);
    }
  });

  it('retries a 4xx on the same delivery row, and sends once', async () => {
    const who = await patient('busy@example.org', '+14155550707');
    harness.peers.smtp.failNext({ stage: 'data', code: 451, to: 'busy@example.org' });
    const input = reminder(who);
    await assert.rejects(attempt(activities.sendReminder.bind(activities), input), (error: unknown) => {
      assert.ok(error instanceof ApplicationFailure);
      assert.equal(error.type, 'ChannelUnavailable');
      return true;
    });
    const retried = await attempt(activities.sendReminder.bind(activities), input, 2);
    assert.ok(retried.kind === 'done');
    assert.deepEqual([retried.result.status, retried.result.channel], ['sent', 'email']);
    assert.equal((await emailsTo('busy@example.org')).length, 1);
    assert.equal(smsTo('+14155550707').length, 0);
    assert.equal(
      await count(sql`select count(*) as n from deliveries where patient_id = ${who.patientId}`),
      1,
      'one delivery row',
    );
    assert.equal(
      await count(sql`select count(*) as n from suppressions where clinic_id = ${clinicId}
        and address_index = ${testCipher.blindIndex('email', clinicId, 'busy@example.org')}`),
      0,
      'a transient failure suppresses nothing',
    );
  });

  it('acts on a signed hard bounce once: suppresses, records it and falls back to SMS; refuses forged ones', async () => {
    const who = await patient('bounce@example.org', '+14155550708');
    harness.peers.smtp.bounceNext({ to: 'bounce@example.org', type: 'hard' });
    const input = reminder(who);
    const sent = await attempt(activities.sendReminder.bind(activities), input);
    assert.ok(sent.kind === 'done');
    assert.equal(sent.result.channel, 'email');
    const report = harness.peers.smtp.bounces().find((bounce) => bounce.recipient === 'bounce@example.org');
    assert.ok(report);
    assert.equal(report.messageId, `<${sent.result.providerMessageId}>`);

    const body = JSON.stringify(report);
    const post = (headers: Record<string, string>) =>
      harness.api.inject({
        method: 'POST',
        url: '/webhooks/email/bounce',
        headers: { 'content-type': 'application/json', ...headers },
        payload: body,
      });
    const events = sql`select count(*) as n from delivery_events where delivery_id = ${sent.result.deliveryId}`;
    assert.equal((await post({})).statusCode, 401, 'unsigned');
    assert.equal(
      (await post({ 'carebell-signature': signBounce('not-the-secret-0123456789abcdef', body) })).statusCode,
      403,
    );
    const stale = signBounce(SECRET, body, Math.floor(Date.now() / 1000) - 3600);
    assert.equal((await post({ 'carebell-signature': stale })).statusCode, 403, 'replayed an hour later');
    assert.equal(await count(events), 0, 'refused reports change nothing');

    const accepted = await post({ 'carebell-signature': signBounce(SECRET, body) });
    assert.equal(accepted.statusCode, 200, accepted.body);
    assert.deepEqual(accepted.json(), {
      matched: true,
      deliveryId: sent.result.deliveryId,
      action: 'suppressed-and-falling-back',
    });
    await waitFor(() => Promise.resolve(smsTo('+14155550708').length === 1), 'the fallback SMS');
    await waitFor(async () => {
      const [row] = await harness.database.owner.db.execute<{ status: string; channel: string }>(
        sql`select status, channel from deliveries where id = ${sent.result.deliveryId}`,
      );
      return row?.status === 'sent' && row.channel === 'sms';
    }, 'the delivery completed on SMS');
    const again = await post({ 'carebell-signature': signBounce(SECRET, body) });
    assert.equal(again.statusCode, 200);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(smsTo('+14155550708').length, 1, 'a report sent twice falls back once');
    assert.equal(
      await count(sql`select count(*) as n from deliveries where patient_id = ${who.patientId}`),
      1,
    );
    const [event] = await harness.database.owner.db.execute<{ status: string; provider_error: string }>(
      sql`select status, provider_error from delivery_events where delivery_id = ${sent.result.deliveryId}`,
    );
    assert.deepEqual(event, { status: 'failed', provider_error: '550 5.1.1' });
    assert.equal(
      await count(sql`select count(*) as n from suppressions where reason = 'hard-bounce'
        and address_index = ${testCipher.blindIndex('email', clinicId, 'bounce@example.org')}`),
      1,
    );
  });
});
