// Processes dying at the worst moments: the worker with its provider call in flight (stopped there
// deterministically by a peer that holds the call), the Temporal dev server with timers pending, and
// PostgreSQL while sends fall due and one provider answer is on its way back.
import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import { sleep, Violation, type FaultContext } from '../context';
import type { Scenario } from '../runner';
import {
  deliveryRow,
  emailsTo,
  expectSent,
  messagesTo,
  oneSendJourney,
  resultWithin,
  zoneAtHour,
} from './common';

// A killed worker's activity is retried once its start-to-close timeout (1 minute) has passed.
const AFTER_A_KILL_MS = 150_000;

const timerStarted = (ctx: FaultContext, workflowId: string) =>
  ctx.historyHas(workflowId, (event) => Boolean(event.timerStartedEventAttributes));

export const workerKillBeforeProvider: Scenario = {
  name: 'worker-kill-before-provider',
  breaks:
    'SIGKILL of the worker while its provider calls are held before taking effect (Twilio create not yet done, SMTP message not yet accepted)',
  fast: false,
  settleMs: 120_000,
  async run(ctx) {
    const zone = zoneAtHour();
    const bySms = await ctx.patient({ timeZone: zone, channel: 'sms' });
    const byEmail = await ctx.patient({ timeZone: zone, channel: 'email' });
    ctx.peers.sms.stallNext();
    ctx.peers.smtp.failNext({ stage: 'hang' });
    ctx.onClose(() => ctx.peers.sms.unstall());
    const first = await ctx.startWorker();
    const sms = await ctx.reminder(bySms, 0);
    const email = await ctx.reminder(byEmail, 0);
    await ctx.waitFor(
      () => ctx.peers.sms.stalled() === 1 && ctx.peers.smtp.hanging() === 1,
      'both provider calls to be held in flight',
    );
    await first.kill('SIGKILL');
    const killedAt = Date.now();
    await ctx.waitFor(
      () => ctx.peers.sms.stalled() === 0 && ctx.peers.smtp.hanging() === 0,
      'the peers to see the killed worker hang up',
      10_000,
    );
    ctx.expect(
      messagesTo(ctx, bySms.phone).length === 0 && (await emailsTo(ctx, byEmail.email)).length === 0,
      'a message reached a peer although the worker died before the provider took it',
    );
    await ctx.startWorker();
    const [smsResult, emailResult] = await Promise.all([
      resultWithin(sms, 'the SMS reminder', AFTER_A_KILL_MS),
      resultWithin(email, 'the email reminder', AFTER_A_KILL_MS),
    ]);
    expectSent(ctx, 'the SMS reminder', smsResult, 'sms');
    expectSent(ctx, 'the email reminder', emailResult, 'email');
    ctx.note(`a new worker sent both ${((Date.now() - killedAt) / 1000).toFixed(0)}s after the kill`);
  },
};

export const workerKillAfterProvider: Scenario = {
  name: 'worker-kill-after-provider',
  breaks:
    'SIGKILL of the worker after Twilio created the message, before its answer came back (row still pending)',
  fast: false,
  settleMs: 120_000,
  async run(ctx) {
    const patient = await ctx.patient({ timeZone: zoneAtHour() });
    ctx.peers.sms.stallNext({ afterCreate: true });
    ctx.onClose(() => ctx.peers.sms.unstall());
    const first = await ctx.startWorker();
    const handle = await ctx.reminder(patient, 0);
    await ctx.waitFor(() => ctx.peers.sms.stalled() === 1, 'Twilio to hold its answer');
    await first.kill('SIGKILL');
    const created = messagesTo(ctx, patient.phone);
    if (created.length !== 1)
      throw new Violation(`${created.length} messages created before the kill, expected 1`);
    await ctx.startWorker();
    const result = await resultWithin(handle, 'the reminder', AFTER_A_KILL_MS);
    expectSent(ctx, 'the reminder', result, 'sms');
    ctx.expect(
      result.providerMessageId === created[0]!.sid,
      'the retry did not record the message Twilio already had',
    );
    ctx.expect(messagesTo(ctx, patient.phone).length === 1, 'the retry sent the SMS again');
    ctx.note(`the new worker's attempt ${(await deliveryRow(ctx, result.deliveryId)).attempts} found it`);
  },
};

export const twilioQueuedWorkerDies: Scenario = {
  name: 'twilio-queued-worker-dies',
  breaks:
    'Twilio holds the message queued (no date_sent) and the worker is SIGKILLed before the answer: the retry must find a message that is not yet sent',
  fast: false,
  settleMs: 120_000,
  async run(ctx) {
    const patient = await ctx.patient({ timeZone: zoneAtHour() });
    ctx.peers.sms.holdQueued();
    ctx.peers.sms.stallNext({ afterCreate: true });
    ctx.onClose(() => {
      ctx.peers.sms.unstall();
      ctx.peers.sms.release();
    });
    const first = await ctx.startWorker();
    const handle = await ctx.reminder(patient, 0);
    await ctx.waitFor(() => ctx.peers.sms.stalled() === 1, 'Twilio to hold its answer');
    await first.kill('SIGKILL');
    await ctx.startWorker();
    const result = await resultWithin(handle, 'the reminder', AFTER_A_KILL_MS);
    expectSent(ctx, 'the reminder', result, 'sms');
    const [message, ...more] = messagesTo(ctx, patient.phone);
    ctx.expect(more.length === 0, `${more.length + 1} messages reached Twilio, expected 1`);
    ctx.expect(
      message?.date_sent === null,
      'the message left the queue before the check (scenario not exercised)',
    );
    ctx.expect(result.providerMessageId === message?.sid, 'the retry did not record the queued message');
    ctx.peers.sms.release();
    await ctx.waitFor(
      () => messagesTo(ctx, patient.phone)[0]?.date_sent !== null,
      'Twilio to send the released message',
      5_000,
    );
    ctx.note('found while still queued, sent once released');
  },
};

export const temporalRestartMidTimer: Scenario = {
  name: 'temporal-restart-mid-timer',
  breaks:
    'SIGKILL of the Temporal dev server while reminder and journey timers are pending; restarted on the same file and port',
  fast: false,
  needs: ['temporal-restart'],
  settleMs: 90_000,
  async run(ctx) {
    const server = ctx.stack.temporalServer!;
    const zone = zoneAtHour();
    const [a, b, c] = [
      await ctx.patient({ timeZone: zone, channel: 'sms' }),
      await ctx.patient({ timeZone: zone, channel: 'email' }),
      await ctx.patient({ timeZone: zone, channel: 'sms' }),
    ];
    const worker = await ctx.startWorker();
    const reminders = [await ctx.reminder(a, 25_000), await ctx.reminder(b, 25_000)];
    const journey = await ctx.enroll({
      clinicId: c.clinicId,
      patientId: c.patientId,
      journey: oneSendJourney('faults-timer', { wait: { id: 'pause', type: 'wait', for: 'PT25S' } }),
      anchorDate: DateTime.now().setZone(zone).toISODate()!,
      occurrence: randomUUID(),
    });
    const ids = [...reminders.map((handle) => handle.workflowId), journey.workflowId];
    await ctx.waitFor(
      async () => (await Promise.all(ids.map((id) => timerStarted(ctx, id)))).every(Boolean),
      'every timer to start',
    );
    await server.kill();
    const killedAt = Date.now();
    await sleep(5_000);
    await server.restart();
    const down = (Date.now() - killedAt) / 1000;
    const [first, second] = await Promise.all(
      reminders.map((handle, index) => resultWithin(handle, `reminder ${index + 1}`, 90_000)),
    );
    expectSent(ctx, 'the SMS reminder', first!, 'sms');
    expectSent(ctx, 'the email reminder', second!, 'email');
    const ended = await resultWithin(journey, 'the journey', 90_000);
    ctx.expect(
      ended.timeline.some((entry) => entry.step === 'send' && entry.outcome === 'sent'),
      `the journey ended ${ended.outcome} without its send`,
    );
    ctx.expect(worker.running(), 'the worker process exited during the outage');
    ctx.note(`server down ${down.toFixed(0)}s; the same worker finished all three`);
  },
};

export const postgresRestartWhileDue: Scenario = {
  name: 'postgres-restart-while-due',
  breaks:
    'SIGKILL of PostgreSQL while two sends fall due and a third is between the provider call and its row completion; restarted',
  fast: false,
  needs: ['postgres-restart'],
  settleMs: 90_000,
  async run(ctx) {
    const database = ctx.stack.postgres!;
    const zone = zoneAtHour();
    const [inFlight, smsDue, emailDue] = [
      await ctx.patient({ timeZone: zone, channel: 'sms' }),
      await ctx.patient({ timeZone: zone, channel: 'sms' }),
      await ctx.patient({ timeZone: zone, channel: 'email' }),
    ];
    ctx.peers.sms.stallNext({ afterCreate: true });
    ctx.onClose(() => ctx.peers.sms.unstall());
    const worker = await ctx.startWorker();
    const first = await ctx.reminder(inFlight, 0);
    await ctx.waitFor(() => ctx.peers.sms.stalled() === 1, 'the first send to reach Twilio');
    const due = [await ctx.reminder(smsDue, 3_000), await ctx.reminder(emailDue, 3_000)];
    await ctx.waitFor(
      async () =>
        (await Promise.all(due.map((handle) => timerStarted(ctx, handle.workflowId)))).every(Boolean),
      'the other reminders to start their timers',
    );
    await database.kill();
    const killedAt = Date.now();
    // Twilio answers while the database is down: the row cannot be completed.
    await sleep(1_000);
    ctx.peers.sms.unstall();
    await sleep(7_000);
    await database.restart();
    const down = (Date.now() - killedAt) / 1000;
    const [inFlightResult, smsResult, emailResult] = await Promise.all([
      resultWithin(first, 'the reminder in flight', 90_000),
      resultWithin(due[0]!, 'the SMS reminder due during the outage', 90_000),
      resultWithin(due[1]!, 'the email reminder due during the outage', 90_000),
    ]);
    expectSent(ctx, 'the reminder in flight', inFlightResult, 'sms');
    expectSent(ctx, 'the SMS reminder due during the outage', smsResult, 'sms');
    expectSent(ctx, 'the email reminder due during the outage', emailResult, 'email');
    const [message, ...more] = messagesTo(ctx, inFlight.phone);
    ctx.expect(more.length === 0, 'the send in flight at the crash went out twice');
    ctx.expect(
      inFlightResult.providerMessageId === message?.sid,
      'the send in flight was not matched to the message Twilio had',
    );
    ctx.expect(worker.running(), 'the worker process exited during the outage');
    const attempts = (await deliveryRow(ctx, inFlightResult.deliveryId)).attempts;
    ctx.expect(attempts >= 2, 'the send in flight completed without a retry (scenario not exercised)');
    ctx.note(
      `database down ${down.toFixed(0)}s; the send in flight was matched on attempt ${attempts}; the same worker finished all three`,
    );
  },
};
