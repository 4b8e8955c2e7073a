// The journey interpreter over whole simulated lives on the time-skipping server, with the simulation
// activities (the same rules as the send path): every built-in journey, quiet hours across DST, caps
// colliding across journeys, the goal mid-wait, an opt-out, a definition change in flight, queries and a
// duplicate trigger.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createSimulationActivities, type SamplePatient } from '../../activities/simulation';
import { builtInJourneys } from '../../journeys/built-in';
import type { JourneyDefinition } from '../../journeys/schema';
import { startJourney } from '../../usecases/start-workflows';
import { simulateJourney as simulateOnce } from '../../usecases/simulate';
import {
  currentStepQuery,
  eventSignal,
  nextSendQuery,
  optedOutSignal,
  preferencesChangedSignal,
  JOURNEY_REVISION,
  type JourneyInput,
} from '../../domain/journey';
import {
  createTimeSkippingEnvironment,
  retryServerStart,
  testServerPath,
  testWorkflowCode,
  uniqueTaskQueue,
} from '../support/harness';

const journey = (key: string) => builtInJourneys().find((definition) => definition.key === key)!;
const newYork: SamplePatient = {
  timeZone: 'America/New_York',
  language: 'en',
  preferredChannel: 'sms',
  channels: ['sms', 'email'],
  marketingOptIn: false,
};
// Each preview starts a time-skipping server of its own.
const simulateJourney = (request: Parameters<typeof simulateOnce>[0]) =>
  retryServerStart(() => simulateOnce(request));
const sends = <E extends { outcome: string }>(timeline: E[]): E[] =>
  timeline.filter((entry) => entry.outcome === 'sent');

describe('built-in journeys over their whole life', () => {
  it('refill: a week before the supply ends, on the day and after, at 10:00 local across the spring change', async () => {
    const { outcome, timeline } = await simulateJourney({
      definition: journey('refill'),
      patient: newYork,
      event: {
        type: 'medication.dispensed',
        anchorDate: '2027-03-17',
        facts: { daysSupply: '30', refillsRemaining: '2' },
      },
      testServerPath: testServerPath(),
    });
    assert.equal(outcome, 'completed');
    assert.deepEqual(
      sends(timeline).map((entry) => [entry.step, entry.localTime, entry.channel]),
      [
        // New York moves to daylight time on 14 March: 10:00 EST, then 10:00 EDT.
        ['refill-soon', '2027-03-10T10:00:00-05:00', 'sms'],
        ['refill-today', '2027-03-17T10:00:00-04:00', 'sms'],
        ['refill-overdue', '2027-03-20T10:00:00-04:00', 'sms'],
      ],
    );
    assert.equal(timeline.at(-1)?.reason, 'not-refilled');
  });

  it('refill ends when the next dispense arrives mid-wait', async () => {
    const { outcome, timeline } = await simulateJourney({
      definition: journey('refill'),
      patient: newYork,
      event: {
        type: 'medication.dispensed',
        anchorInDays: 40,
        facts: { daysSupply: '30', refillsRemaining: '2' },
        then: [{ after: 'P20D', event: 'medication.dispensed' }],
      },
      testServerPath: testServerPath(),
    });
    assert.equal(outcome, 'goal-met');
    assert.equal(sends(timeline).length, 0, 'nothing was sent before the goal');
  });

  it('screening: a reminder and a follow-up, by email in the patient language', async () => {
    const { outcome, timeline } = await simulateJourney({
      definition: journey('screening'),
      patient: { ...newYork, timeZone: 'Asia/Kolkata', language: 'es-MX', preferredChannel: 'email' },
      event: { type: 'screening.due', anchorDate: '2027-06-30' },
      testServerPath: testServerPath(),
    });
    assert.equal(outcome, 'completed');
    assert.deepEqual(
      sends(timeline).map((entry) => [entry.localTime, entry.channel, entry.language]),
      [
        ['2027-06-16T10:00:00+05:30', 'email', 'es'],
        ['2027-07-07T10:00:00+05:30', 'email', 'es'],
      ],
    );
  });

  it('re-engagement: three spaced nudges with a deterministic A/B variant', async () => {
    const run = () =>
      simulateJourney({
        definition: journey('re-engagement'),
        patient: newYork,
        event: { type: 'visit.missed', anchorInDays: 0 },
        testServerPath: testServerPath(),
      });
    const first = await run();
    assert.equal(sends(first.timeline).length, 3);
    const variant = sends(first.timeline)[0]!.variant;
    assert.ok(variant === 'warm' || variant === 'direct');
    assert.equal(
      sends((await run()).timeline)[0]!.variant,
      variant,
      'the same patient gets the same variant',
    );
  });

  it('open enrollment: marketing needs opt-in; with it, at opening, before 15 December, before 15 January', async () => {
    const event = {
      type: 'coverage.open-enrollment',
      anchorDate: '2028-01-15',
      facts: { opensOn: '2027-11-01', januaryDeadline: '2027-12-15', deadline: '2028-01-15' },
    };
    const without = await simulateJourney({
      definition: journey('insurance-reenrollment'),
      patient: newYork,
      event,
      testServerPath: testServerPath(),
    });
    assert.deepEqual(
      without.timeline.filter((entry) => entry.step !== 'done').map((entry) => [entry.outcome, entry.reason]),
      [
        ['suppressed', 'no-marketing-consent'],
        ['suppressed', 'no-marketing-consent'],
        ['suppressed', 'no-marketing-consent'],
      ],
    );
    const withOptIn = await simulateJourney({
      definition: journey('insurance-reenrollment'),
      patient: { ...newYork, timeZone: 'Pacific/Chatham', marketingOptIn: true },
      event,
      testServerPath: testServerPath(),
    });
    // Chatham keeps its summer offset (+13:45) from late September to early April.
    assert.deepEqual(
      sends(withOptIn.timeline).map((entry) => entry.localTime),
      ['2027-11-01T10:00:00+13:45', '2027-12-08T10:00:00+13:45', '2028-01-12T10:00:00+13:45'],
    );
  });
});

describe('journey interpreter rules', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await createTimeSkippingEnvironment();
  });
  after(() => env?.teardown());

  const definition = (
    steps: JourneyDefinition['steps'],
    extra: Partial<JourneyDefinition> = {},
  ): JourneyDefinition => ({
    key: 'custom',
    version: 1,
    name: 'Custom',
    category: 'transactional',
    trigger: { event: 'test.start' },
    anchor: 'lastVisitDate',
    goal: { event: 'test.goal' },
    steps,
    ...extra,
  });
  const input = (
    def: JourneyDefinition,
    patientId: string,
    anchorDate: string,
    episode = 'e1',
  ): JourneyInput => ({
    revision: JOURNEY_REVISION,
    clinicId: 'clinic',
    patientId,
    episode,
    definition: def,
    anchorDate,
  });

  async function withWorker<T>(patient: SamplePatient, run: (taskQueue: string) => Promise<T>): Promise<T> {
    const taskQueue = uniqueTaskQueue('journey');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      ...(await testWorkflowCode()),
      activities: createSimulationActivities(patient),
    });
    return worker.runUntil(run(taskQueue));
  }

  it('closes a send that fails for good as one failed delivery, and ends the journey failed', async () => {
    const twoSends = definition([
      { id: 'first', type: 'send', template: 'reminder', channels: 'preferred' },
      { id: 'second', type: 'send', template: 'reminder', channels: 'preferred' },
    ]);
    const closed: { step: string; status?: string; reason: string }[] = [];
    const simulation = createSimulationActivities(newYork);
    const taskQueue = uniqueTaskQueue('journey-failed');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      ...(await testWorkflowCode()),
      activities: {
        ...simulation,
        // The provider never recovers within the retry budget.
        sendJourneyStep: () =>
          Promise.reject(ApplicationFailure.nonRetryable('still down', 'ChannelUnavailable')),
        closeDeferredSend: (closing: Parameters<typeof simulation.closeDeferredSend>[0]) => {
          closed.push({ step: closing.stepId, status: closing.status, reason: closing.reason });
          return simulation.closeDeferredSend(closing);
        },
      },
    });
    const result = await worker.runUntil(async () => {
      const handle = await startJourney(env.client, taskQueue, input(twoSends, 'p-failed', '2027-05-10'));
      return handle.result();
    });
    assert.equal(result.outcome, 'failed');
    assert.deepEqual(closed, [{ step: 'first', status: 'failed', reason: 'provider-unavailable' }]);
    assert.deepEqual(
      result.timeline.map((entry) => [entry.step, entry.outcome]),
      [['first', 'failed']],
      'the second step is never reached',
    );
  });

  it('skips a send marked ifPassed: skip whose moment passed before the journey reached it, and says so', async () => {
    const countdown = definition([
      { id: 'month-before', type: 'wait', until: { offset: '-P30D', at: '10:00' }, ifPassed: 'skip' },
      { id: 'first-notice', type: 'send', template: 'reminder', channels: 'preferred' },
      { id: 'day-before', type: 'wait', until: { offset: '-P1D', at: '10:00' } },
      { id: 'last-notice', type: 'send', template: 'reminder', channels: 'preferred' },
    ]);
    // Enrolled ten days before the anchor: the month-before notice is twenty days stale.
    const start = new Date(await env.currentTimeMs());
    const anchor = new Date(start.getTime() + 10 * 24 * 3600 * 1000).toISOString().slice(0, 10);
    const result = await withWorker(newYork, async (taskQueue) => {
      const handle = await startJourney(env.client, taskQueue, input(countdown, 'p-stale', anchor));
      return handle.result();
    });
    assert.deepEqual(
      result.timeline.map((entry) => [entry.step, entry.outcome, entry.reason ?? null]),
      [
        ['first-notice', 'skipped', 'stale'],
        ['last-notice', 'sent', null],
      ],
    );
  });

  it('defers a send in quiet hours to 08:00 the next local morning, across the spring change', async () => {
    const late = definition([
      { id: 'late', type: 'wait', until: { offset: 'P1D', at: '23:30' } },
      { id: 'remind', type: 'send', template: 'reminder', channels: 'preferred' },
    ]);
    const result = await withWorker(newYork, async (taskQueue) => {
      const handle = await startJourney(env.client, taskQueue, input(late, 'p-quiet', '2027-03-12'));
      return handle.result();
    });
    const [sent] = sends(result.timeline);
    // 23:30 EST on the 13th is quiet; the window opens at 08:00 EDT on the 14th = 12:00 UTC.
    assert.equal(sent?.at, Date.UTC(2027, 2, 14, 12, 0));
    assert.equal(sent?.reason, 'deferred:quiet-hours');
  });

  it('applies frequency caps across two journeys of one patient', async () => {
    const sendAtTen = (key: string) =>
      definition(
        [
          { id: 'at-ten', type: 'wait', until: { offset: 'P0D', at: '10:00' } },
          { id: 'remind', type: 'send', template: 'reminder', channels: 'preferred' },
        ],
        { key },
      );
    const [a, b] = await withWorker(newYork, async (taskQueue) => {
      const first = await startJourney(
        env.client,
        taskQueue,
        input(sendAtTen('first'), 'p-caps', '2027-05-10'),
      );
      const second = await startJourney(
        env.client,
        taskQueue,
        input(sendAtTen('second'), 'p-caps', '2027-05-10'),
      );
      // One result at a time: each result() call switches the test server's time skipping on and off.
      return [await first.result(), await second.result()];
    });
    // Whole seconds: the test server's clock moves by a few milliseconds while activities run.
    const times = [...sends(a.timeline), ...sends(b.timeline)]
      .map((entry) => Math.floor(entry.at / 1000) * 1000)
      .sort();
    assert.deepEqual(
      times,
      [Date.UTC(2027, 4, 10, 14, 0), Date.UTC(2027, 4, 11, 12, 0)],
      'one a day: the second waits for the next morning',
    );
  });

  it('ends a marketing journey at once on opt-out, and answers queries while it waits', async () => {
    const marketing = definition(
      [
        { id: 'first', type: 'send', template: 'reminder', channels: 'preferred' },
        { id: 'pause', type: 'wait', for: 'P7D' },
        { id: 'second', type: 'send', template: 'reminder', channels: 'preferred' },
      ],
      { category: 'marketing' },
    );
    const result = await withWorker({ ...newYork, marketingOptIn: true }, async (taskQueue) => {
      const handle = await startJourney(env.client, taskQueue, input(marketing, 'p-optout', '2027-01-01'));
      await env.sleep('1 day');
      assert.equal(await handle.query(currentStepQuery), 'pause');
      assert.equal(await handle.query(nextSendQuery), null);
      await handle.signal(optedOutSignal, 'all');
      return handle.result();
    });
    assert.equal(result.outcome, 'opted-out');
    assert.equal(sends(result.timeline).length, 1);
  });

  it('keeps the definition pinned at enrollment while a new version starts new enrollments', async () => {
    const v1 = definition([
      { id: 'wait', type: 'wait', for: 'P2D' },
      { id: 'remind', type: 'send', template: 'refill-due', channels: 'preferred' },
    ]);
    const v2 = {
      ...v1,
      version: 2,
      steps: [
        v1.steps[0]!,
        { id: 'remind', type: 'send' as const, template: 'refill-overdue', channels: 'preferred' as const },
      ],
    };
    const seen: string[] = [];
    const patient = newYork;
    const activities = createSimulationActivities(patient);
    const taskQueue = uniqueTaskQueue('pinned');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      ...(await testWorkflowCode()),
      activities: {
        ...activities,
        sendJourneyStep: (step: Parameters<typeof activities.sendJourneyStep>[0]) => {
          seen.push(`${step.idempotencyKey.split(':')[2]}:${step.template}`);
          return activities.sendJourneyStep(step);
        },
      },
    });
    await worker.runUntil(async () => {
      const old = await startJourney(env.client, taskQueue, input(v1, 'p-old', '2027-01-01'));
      await env.sleep('1 day');
      const fresh = await startJourney(env.client, taskQueue, input(v2, 'p-new', '2027-01-01'));
      await old.result();
      await fresh.result();
    });
    assert.deepEqual(seen.sort(), ['p-new:refill-overdue', 'p-old:refill-due']);
  });

  it('finds the running journey for a duplicate trigger', async () => {
    const long = definition([{ id: 'wait', type: 'wait', for: 'P30D' }]);
    await withWorker(newYork, async (taskQueue) => {
      const first = await startJourney(env.client, taskQueue, input(long, 'p-dup', '2027-01-01'));
      const again = await startJourney(env.client, taskQueue, input(long, 'p-dup', '2027-01-01'));
      assert.equal((await again.describe()).runId, (await first.describe()).runId);
      await first.signal(eventSignal, 'test.goal');
      assert.equal((await first.result()).outcome, 'goal-met');
    });
  });

  it('re-plans a wait when the patient moves to another time zone', async () => {
    const before = definition([
      { id: 'three-days-before', type: 'wait', until: { offset: '-P3D', at: '10:00' } },
      { id: 'remind', type: 'send', template: 'reminder', channels: 'preferred' },
    ]);
    // The simulation activities read this object at every call, as the real ones read the database.
    const patient: SamplePatient = { ...newYork };
    const result = await withWorker(patient, async (taskQueue) => {
      const handle = await startJourney(env.client, taskQueue, input(before, 'p-moved', '2031-06-20'));
      await env.sleep('1 day');
      patient.timeZone = 'Asia/Kolkata';
      await handle.signal(preferencesChangedSignal);
      return handle.result();
    });
    // 10:00 in Kolkata (UTC+05:30) on the 17th, not 10:00 in New York.
    const sentAt = sends(result.timeline)[0]!.at;
    assert.equal(Math.floor(sentAt / 1000) * 1000, Date.UTC(2031, 5, 17, 4, 30));
  });

  it('continues as new past 100 steps and carries its state over', async () => {
    // Each hop checks the first run's send, so the state must survive continue-as-new.
    const hops = Array.from({ length: 105 }, (_, index) => ({
      id: `hop-${index}`,
      type: 'branch' as const,
      condition: { kind: 'delivered' as const, step: 'hello' },
      then: index === 104 ? 'done' : `hop-${index + 1}`,
      else: 'lost-state',
    }));
    const long = definition([
      { id: 'hello', type: 'send', template: 'reminder', channels: 'preferred' },
      { id: 'rest', type: 'wait', for: 'P1D' },
      ...hops,
      { id: 'lost-state', type: 'exit', reason: 'lost-state' },
      { id: 'done', type: 'exit', reason: 'all-hops' },
    ]);
    const result = await withWorker(newYork, async (taskQueue) => {
      const handle = await startJourney(env.client, taskQueue, input(long, 'p-long', '2027-01-01'));
      const firstRunId = (await handle.describe()).runId;
      const outcome = await handle.result();
      const firstRun = await env.client.workflow.getHandle(handle.workflowId, firstRunId).fetchHistory();
      assert.ok(
        firstRun.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes,
        'the first run ended by continuing as new',
      );
      return outcome;
    });
    assert.equal(result.outcome, 'completed');
    assert.deepEqual(
      result.timeline.map((entry) => [entry.step, entry.outcome]),
      [
        ['hello', 'sent'],
        ['done', 'exited'],
      ],
    );
  });
});
