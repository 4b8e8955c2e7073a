// Providers misbehaving while the worker stays up: an SMTP relay that defers, refuses or hangs, and a
// Twilio that throttles or answers 500 after it had in fact queued the message.
import type { Scenario } from '../runner';
import { deliveryRow, emailsTo, expectSent, messagesTo, resultWithin, zoneAtHour } from './common';

export const smtpTransientThenAccept: Scenario = {
  name: 'smtp-421-451-then-accept',
  breaks: 'the SMTP relay answers 421 at RCPT, then 451 at DATA, then accepts',
  fast: true,
  async run(ctx) {
    const patient = await ctx.patient({ timeZone: zoneAtHour(), channel: 'email' });
    ctx.peers.smtp.failNext({ stage: 'rcpt', code: 421 });
    ctx.peers.smtp.failNext({ stage: 'data', code: 451 });
    await ctx.startWorker();
    const handle = await ctx.reminder(patient, 0);
    const result = await resultWithin(handle, 'the reminder', 90_000);
    expectSent(ctx, 'the reminder', result, 'email');
    const row = await deliveryRow(ctx, result.deliveryId);
    ctx.expect(row.attempts === 3, `${row.attempts} attempts recorded, expected 3 (421, 451, accepted)`);
    ctx.expect(
      (await emailsTo(ctx, patient.email)).length === 1,
      'the relay did not store exactly one email',
    );
    ctx.note(`email after ${row.attempts} attempts`);
  },
};

export const smtp550AtData: Scenario = {
  name: 'smtp-550-at-data',
  breaks: 'the SMTP relay refuses the message with 550 after DATA: permanent, so SMS is tried',
  fast: true,
  async run(ctx) {
    const patient = await ctx.patient({ timeZone: zoneAtHour(), channel: 'email' });
    ctx.peers.smtp.failNext({ stage: 'data', code: 550 });
    await ctx.startWorker();
    const handle = await ctx.reminder(patient, 0);
    const result = await resultWithin(handle, 'the reminder', 60_000);
    expectSent(ctx, 'the reminder (fallback)', result, 'sms');
    ctx.expect((await emailsTo(ctx, patient.email)).length === 0, 'the refused email was stored anyway');
    ctx.expect(messagesTo(ctx, patient.phone).length === 1, 'the SMS fallback did not arrive exactly once');
    const row = await deliveryRow(ctx, result.deliveryId);
    ctx.note(`fallback email→${result.channel ?? '?'} in ${row.attempts} route attempts`);
  },
};

export const smtpRelayHangs: Scenario = {
  name: 'smtp-relay-hangs',
  breaks: 'the SMTP relay takes the whole message, then never answers',
  fast: true,
  async run(ctx) {
    const patient = await ctx.patient({ timeZone: zoneAtHour(), channel: 'email' });
    ctx.peers.smtp.failNext({ stage: 'hang' });
    await ctx.startWorker();
    const started = Date.now();
    const handle = await ctx.reminder(patient, 0);
    await ctx.waitFor(() => ctx.peers.smtp.hanging() === 1, 'the relay to hang on the message');
    const result = await resultWithin(handle, 'the reminder', 120_000);
    expectSent(ctx, 'the reminder', result, 'email');
    ctx.expect(
      (await emailsTo(ctx, patient.email)).length === 1,
      'the relay did not store exactly one email',
    );
    const row = await deliveryRow(ctx, result.deliveryId);
    ctx.expect(row.attempts === 2, `${row.attempts} attempts recorded, expected 2 (hung, accepted)`);
    ctx.note(`gave up on the hung relay, sent after ${((Date.now() - started) / 1000).toFixed(0)}s`);
  },
};

const RETRY_AFTER_S = 8;

export const twilio429RetryAfter: Scenario = {
  name: 'twilio-429-retry-after',
  breaks: `Twilio answers 429 with Retry-After: ${RETRY_AFTER_S} (longer than the activity's 5 s backoff)`,
  fast: true,
  async run(ctx) {
    const patient = await ctx.patient({ timeZone: zoneAtHour() });
    ctx.peers.sms.failNext({ status: 429, retryAfter: RETRY_AFTER_S });
    await ctx.startWorker();
    const handle = await ctx.reminder(patient, 0);
    const result = await resultWithin(handle, 'the reminder', 60_000);
    expectSent(ctx, 'the reminder', result, 'sms');
    const row = await deliveryRow(ctx, result.deliveryId);
    ctx.expect(row.attempts === 2, `${row.attempts} attempts recorded, expected 2 (429, sent)`);
    // The row is claimed just before the first attempt; the second attempt stamps last_attempt_at.
    const waited = ((row.lastAttemptAt?.getTime() ?? 0) - row.createdAt.getTime()) / 1000;
    ctx.expect(
      waited >= RETRY_AFTER_S - 0.5,
      `retried ${waited.toFixed(1)}s after the 429, before its Retry-After of ${RETRY_AFTER_S}s`,
    );
    ctx.expect(messagesTo(ctx, patient.phone).length === 1, 'the SMS did not arrive exactly once');
    ctx.note(`retried after ${waited.toFixed(1)}s (Retry-After ${RETRY_AFTER_S}s)`);
  },
};

export const twilio500AfterQueue: Scenario = {
  name: 'twilio-500-after-queue',
  breaks: 'Twilio queues the message, then answers 500: the retry must find it, not send again',
  fast: true,
  async run(ctx) {
    const patient = await ctx.patient({ timeZone: zoneAtHour() });
    ctx.peers.sms.failNext({ status: 500, afterCreate: true });
    await ctx.startWorker();
    const handle = await ctx.reminder(patient, 0);
    const result = await resultWithin(handle, 'the reminder', 60_000);
    expectSent(ctx, 'the reminder', result, 'sms');
    const messages = messagesTo(ctx, patient.phone);
    ctx.expect(messages.length === 1, `${messages.length} SMS reached Twilio, expected 1`);
    ctx.expect(
      result.providerMessageId === messages[0]?.sid,
      'the delivery does not carry the sid of the message Twilio had queued',
    );
    const row = await deliveryRow(ctx, result.deliveryId);
    ctx.note(`the retry (attempt ${row.attempts}) found the queued message`);
  },
};
