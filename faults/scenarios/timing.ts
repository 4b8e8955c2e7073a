// Time against the engine: two worker processes racing the daily cap the moment the sending window
// opens, and a DST change passing while every worker is down.
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { createActivities } from '../../activities';
import { createSmtpEmailSender } from '../../channels/smtp-email';
import { createTwilioSmsSender } from '../../channels/twilio-sms';
import { cancelSignal } from '../../domain/journey';
import { createLogger } from '../../infra/logger';
import { startTimeSkippingServer } from '../../infra/temporal-binaries';
import { createTranslator } from '../../locales';
import { createDataConverter } from '../../security/data-converter';
import { startReminder } from '../../usecases/start-workflows';
import { workflowsPath } from '../../worker/workflow-bundle';
import { FaultContext, Violation } from '../context';
import type { Scenario } from '../runner';
import { expectSent, messagesTo, oneSendJourney, resultWithin, zoneAtHour } from './common';

export const capsRaceAtWindowOpen: Scenario = {
  name: 'caps-race-at-window-open',
  breaks:
    "two journeys of one patient, each on its own worker process, held by quiet hours until the clinic's window opens, then due at the same instant",
  fast: false,
  async run(ctx) {
    const queues = [ctx.taskQueue, ctx.newTaskQueue('b')];
    await Promise.all(queues.map((queue) => ctx.startWorker(queue)));
    // 08:00 cannot be waited for; a clinic may open later than 08:00, so its window opens at the next
    // whole minute (at least 30 s away) in the patient's zone, and that is the race.
    const zone = zoneAtHour(14);
    const opens = DateTime.now().setZone(zone).plus({ seconds: 30 }).startOf('minute').plus({ minutes: 1 });
    const clinicId = await ctx.clinic({ timeZone: zone, quietHoursEnd: opens.toFormat('HH:mm') });
    const patient = await ctx.patient({ timeZone: zone, clinicId });
    const journeys = await Promise.all(
      ['a', 'b'].map((label, index) =>
        ctx.enroll(
          {
            clinicId,
            patientId: patient.patientId,
            journey: oneSendJourney(`faults-race-${label}`),
            anchorDate: opens.toISODate()!,
            occurrence: randomUUID(),
          },
          queues[index],
        ),
      ),
    );
    const planned = () =>
      ctx.owner.execute<{ workflow_id: string; next_send_at: string | null; status: string }>(
        sql`select workflow_id, next_send_at, status from enrollments where patient_id = ${patient.patientId}`,
      );
    await ctx.waitFor(
      async () =>
        (await planned()).filter((row) => timeOf(row.next_send_at) === opens.toMillis()).length === 2,
      'both journeys to be held until the window opens',
    );
    const tomorrow = opens.plus({ days: 1 }).toMillis();
    await ctx.waitFor(
      async () => {
        const rows = await planned();
        return (
          rows.some((row) => row.status === 'completed') &&
          rows.some((row) => row.status === 'active' && timeOf(row.next_send_at) === tomorrow)
        );
      },
      'one journey to send at the opening and the other to be deferred to the next opening',
      opens.toMillis() - Date.now() + 60_000,
    );
    const sent = messagesTo(ctx, patient.phone).length;
    ctx.expect(sent === 1, `${sent} messages reached the patient's number at the opening, expected 1`);
    const rows = await planned();
    const winner = journeys.findIndex((handle) =>
      rows.some((row) => row.workflow_id === handle.workflowId && row.status === 'completed'),
    );
    const loser = journeys[1 - winner]!;
    // The loser would wait until tomorrow: end it, so its due step is closed (suppressed, journey-ended).
    await loser.signal(cancelSignal);
    ctx.note(
      `window opened ${opens.toFormat('HH:mm')} local; worker ${winner === 0 ? 'A' : 'B'} sent, the other journey was deferred to ${opens.plus({ days: 1 }).toFormat('MM-dd HH:mm')}`,
    );
  },
};

/** Raw query results carry timestamps as text. */
const timeOf = (value: string | null) => (value === null ? undefined : new Date(value).getTime());

const environments = new WeakMap<FaultContext, TestWorkflowEnvironment>();

export const dstWhileWorkersDown: Scenario = {
  name: 'dst-while-workers-down',
  breaks:
    'every worker stops while a reminder and a journey wait for 09:00 New York time on the day after the next DST change; the clock passes it (time-skipping test server); workers start again',
  fast: false,
  async context(stack, name) {
    const env = await startTimeSkippingServer(stack.timeSkippingServerPath);
    try {
      const ctx = await FaultContext.create(stack, name, { temporalAddress: env.address });
      ctx.afterClose(() => env.teardown());
      environments.set(ctx, env);
      return ctx;
    } catch (error) {
      await env.teardown();
      throw error;
    }
  },
  async run(ctx) {
    const env = environments.get(ctx)!;
    const zone = 'America/New_York';
    const startedAt = DateTime.fromMillis(await env.currentTimeMs(), { zone });
    let changeDay = startedAt.startOf('day');
    while (changeDay.plus({ days: 1 }).offset === changeDay.offset) {
      changeDay = changeDay.plus({ days: 1 });
      if (changeDay > startedAt.plus({ years: 1 }))
        throw new Error(`${zone} has no DST change within a year`);
    }
    const dueDay = changeDay.plus({ days: 1 }).toISODate()!;
    const due = DateTime.fromISO(`${dueDay}T09:00`, { zone });
    if (due.offset === startedAt.offset) throw new Error('the due time does not lie across the change');

    const bySms = await ctx.patient({ timeZone: zone, channel: 'sms' });
    const byEmail = await ctx.patient({ timeZone: zone, channel: 'email' });
    // The Java test server has no Schedules, which processes/worker.ts creates at start: the workers
    // here run in this process, with the same activities and dependencies a worker process builds.
    const { code } = await bundleWorkflowCode({ workflowsPath, logger: quietBundler });
    const startWorker = async () => {
      const worker = await Worker.create({
        connection: env.nativeConnection,
        namespace: ctx.stack.namespace,
        taskQueue: ctx.taskQueue,
        workflowBundle: { code },
        // No sticky queue: the test server would hold the next task for the stopped worker.
        maxCachedWorkflows: 0,
        dataConverter: createDataConverter(ctx.stack.keyRing),
        activities: createActivities({
          db: ctx.db,
          cipher: ctx.cipher,
          sms: createTwilioSmsSender(ctx.peers.twilio),
          email: createSmtpEmailSender(ctx.peers.smtpSettings),
          translator: await createTranslator(),
          publicUrl: 'https://carebell.faults',
          log: createLogger('silent'),
          clock: Date.now,
          temporal: { client: ctx.client, taskQueue: ctx.taskQueue },
        }),
      });
      const running = worker.run();
      return async () => {
        worker.shutdown();
        await running;
      };
    };

    const stopFirst = await startWorker();
    const reminder = await startReminder(ctx.client, ctx.taskQueue, {
      clinicId: bySms.clinicId,
      patientId: bySms.patientId,
      journey: 'faults-dst',
      episode: randomUUID(),
      template: 'reminder',
      due: { kind: 'local-time', date: dueDay, time: '09:00' },
    });
    ctx.track(reminder.workflowId);
    const journey = await ctx.enroll({
      clinicId: byEmail.clinicId,
      patientId: byEmail.patientId,
      journey: oneSendJourney('faults-dst', {
        wait: { id: 'until-due', type: 'wait', until: { offset: 'P1D', at: '09:00' } },
      }),
      anchorDate: changeDay.toISODate()!,
      occurrence: randomUUID(),
    });
    const timerStarted = (workflowId: string) =>
      ctx.historyHas(workflowId, (event) => Boolean(event.timerStartedEventAttributes));
    try {
      await ctx.waitFor(
        async () => (await timerStarted(reminder.workflowId)) && (await timerStarted(journey.workflowId)),
        'both timers to start',
      );
    } finally {
      await stopFirst();
    }

    // Every worker is down; the clock passes the change and the due time. (Once the timers fire, their
    // workflow tasks wait for a worker and hold the clock to real time: the last second passes as one.)
    await env.sleep(due.toMillis() - (await env.currentTimeMs()) + 1_000);
    const skippedTo = await env.currentTimeMs();
    if (skippedTo < due.toMillis())
      throw new Violation('the test server did not move its clock past the due time');
    ctx.expect(
      messagesTo(ctx, bySms.phone).length === 0 && (await ctx.peers.smtp.messages()).length === 0,
      'a message went out while every worker was down',
    );

    const stopSecond = await startWorker();
    try {
      const reminderResult = await resultWithin(reminder, 'the reminder', 60_000);
      expectSent(ctx, 'the reminder', reminderResult, 'sms');
      ctx.expect(
        reminderResult.dueAt === due.toMillis(),
        `the reminder went out for ${DateTime.fromMillis(reminderResult.dueAt, { zone }).toISO()}, expected ${due.toISO()}`,
      );
      const ended = await resultWithin(journey, 'the journey', 60_000);
      const send = ended.timeline.find((entry) => entry.step === 'send');
      ctx.expect(send?.outcome === 'sent', `the journey's send ended ${send?.outcome ?? 'missing'}`);
      // It leaves when the workers are back, a minute after 09:00 local; an hour off would be a DST slip.
      const at = send ? DateTime.fromMillis(send.at, { zone }) : undefined;
      ctx.expect(
        at !== undefined && at >= due && at.toMillis() <= skippedTo + 5 * 60_000,
        `the journey sent at ${at?.toISO() ?? 'never'}, expected just after ${due.toISO()}`,
      );
      ctx.note(
        `crossed ${changeDay.toISODate()} (UTC${startedAt.toFormat('ZZ')}→UTC${due.toFormat('ZZ')}); sent for ${due.toFormat('HH:mm')} and ${at?.toFormat('HH:mm') ?? '?'} local; time-skipping server`,
      );
    } finally {
      await stopSecond();
    }
  },
};

const quietBundler = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
