// Previews a journey: the real interpreter workflow on Temporal's time-skipping test server, with the
// simulation activities, so months of a journey pass in seconds and nothing is stored or sent. One
// simulator runs any number of previews in turn on one server and one worker (bundling the workflow code
// takes seconds; a preview, a fraction of one).
import { Context } from '@temporalio/activity';
import { startTimeSkippingServer } from '../infra/temporal-binaries';
import { Worker } from '@temporalio/worker';
import { DateTime, Duration } from 'luxon';
import {
  createSimulationActivities,
  messageKey,
  type SampleClinic,
  type SamplePatient,
} from '../activities/simulation';
import type { JourneyDefinition } from '../journeys/schema';
import {
  eventSignal,
  JOURNEY_REVISION,
  type JourneyActivities,
  type JourneyWorkflow,
  type TimelineEntry,
} from '../domain/journey';
import type { Category, Channel } from '../domain/messaging';
import { planOpeningWait } from '../rules/time';
import type { RenderedMessage } from '../locales';
import { workflowCode } from '../worker/workflow-bundle';

export interface SampleEvent {
  type: string;
  /** The anchor date, or `anchorInDays` from the start of the simulation. */
  anchorDate?: string;
  anchorInDays?: number;
  facts?: Record<string, string>;
  /** Date facts as days from the start of the simulation, e.g. { januaryDeadline: 45 }. */
  datesInDays?: Record<string, number>;
  /** Events that arrive later in the journey, e.g. the goal: `{ "after": "P10D", "event": "visit.booked" }`. */
  then?: { after: string; event: string }[];
}

/** The facts a sample event brings, its `datesInDays` made dates from `now`'s day in the patient's zone. */
export function sampleFacts(event: SampleEvent, timeZone: string, now = Date.now()): Record<string, string> {
  const today = DateTime.fromMillis(now, { zone: timeZone });
  return {
    ...event.facts,
    ...Object.fromEntries(
      Object.entries(event.datesInDays ?? {}).map(([name, days]) => [
        name,
        today.plus({ days }).toISODate()!,
      ]),
    ),
  };
}

export interface SimulatedEntry {
  at: string;
  localTime: string;
  step: string;
  channel: Channel | null;
  language: string | null;
  /** The message went in the clinic's default language or English: the patient's own had no text. */
  languageFallback: boolean;
  category: Category | null;
  variant: string | null;
  outcome: TimelineEntry['outcome'];
  reason: string | null;
  /** What the patient reads: the SMS body, or the email's subject and text. */
  text: string | null;
}

export interface SimulationRequest {
  definition: JourneyDefinition;
  patient: SamplePatient;
  event: SampleEvent;
  clinic?: SampleClinic;
}

export interface SimulationResult {
  /** When the preview began on the test server's clock, which earlier previews on it moved on. */
  startedAt: number;
  outcome: string;
  timeline: SimulatedEntry[];
  history: unknown;
}

export interface Simulator {
  simulate(request: SimulationRequest): Promise<SimulationResult>;
  close(): Promise<void>;
}

const JOURNEY_ACTIVITIES = [
  'planJourneyTime',
  'sendJourneyStep',
  'closeDeferredSend',
  'recordJourneyEnd',
  'readPatientAttribute',
] as const satisfies (keyof JourneyActivities)[];

export async function createSimulator(testServerPath?: string): Promise<Simulator> {
  const env = await startTimeSkippingServer(testServerPath);
  // Each preview has its own sample patient: activities find theirs by the workflow they run for.
  const previews = new Map<string, JourneyActivities>();
  const activities = Object.fromEntries(
    JOURNEY_ACTIVITIES.map((name) => [
      name,
      (input: never) => {
        const own = previews.get(Context.current().info.workflowExecution?.workflowId ?? '');
        if (!own) throw new Error('no preview runs for this workflow');
        return (own[name] as (input: never) => Promise<unknown>)(input);
      },
    ]),
  );
  let worker: Worker;
  try {
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'simulation',
      // The prebuilt bundle when current: bundling the sources costs every preview seconds of CPU.
      ...(await workflowCode()),
      activities,
    });
  } catch (error) {
    await env.teardown();
    throw error;
  }
  const running = worker.run();
  // A worker that stops on its own fails the preview waiting on it rather than leaving it hanging.
  const stopped = running.then(() => {
    throw new Error('the simulation worker stopped');
  });
  stopped.catch(() => undefined);
  let count = 0;

  async function simulate({
    definition,
    patient,
    event,
    clinic,
  }: SimulationRequest): Promise<SimulationResult> {
    const workflowId = `simulation-${definition.key}-${++count}`;
    const messages = new Map<string, RenderedMessage>();
    previews.set(workflowId, createSimulationActivities(patient, clinic, messages));
    try {
      const startedAt = await env.currentTimeMs();
      const anchorDate =
        event.anchorDate ??
        DateTime.fromMillis(startedAt, { zone: patient.timeZone })
          .plus({ days: event.anchorInDays ?? 0 })
          .toISODate()!;
      const facts = sampleFacts(event, patient.timeZone, startedAt);
      const opening = planOpeningWait(definition, {
        facts,
        anchorDate,
        timeZone: patient.timeZone,
        from: startedAt,
      });
      const handle = await env.client.workflow.start<JourneyWorkflow>('journeyWorkflow', {
        taskQueue: 'simulation',
        workflowId,
        args: [
          {
            revision: JOURNEY_REVISION,
            clinicId: 'simulation',
            patientId: 'sample-patient',
            episode: 'preview',
            definition,
            anchorDate,
            facts,
            // Planned as an enrollment plans it: a preview runs the journey as enrolled.
            firstWait: opening?.firstWait,
          },
        ],
      });
      for (const later of [...(event.then ?? [])].sort((a, b) => ms(a.after) - ms(b.after))) {
        const wait = startedAt + ms(later.after) - (await env.currentTimeMs());
        if (wait > 0) await env.sleep(wait);
        await handle.signal(eventSignal, later.event);
      }
      const result = await Promise.race([handle.result(), stopped]);
      return {
        startedAt,
        outcome: result.outcome,
        history: await handle.fetchHistory(),
        timeline: result.timeline.map((entry) => {
          const message = messages.get(messageKey(entry.step, entry.at));
          return {
            at: wholeSeconds(entry.at).toUTC().toISO({ suppressMilliseconds: true })!,
            localTime: wholeSeconds(entry.at)
              .setZone(patient.timeZone)
              .toISO({ suppressMilliseconds: true })!,
            step: entry.step,
            channel: entry.channel ?? null,
            language: entry.language ?? null,
            languageFallback: entry.languageFallback ?? false,
            category: entry.category ?? null,
            variant: entry.variant ?? null,
            outcome: entry.outcome,
            reason: entry.reason ?? null,
            text:
              message && entry.outcome === 'sent'
                ? entry.channel === 'email'
                  ? `${message.subject}\n\n${message.text}`
                  : message.sms
                : null,
          };
        }),
      };
    } finally {
      previews.delete(workflowId);
    }
  }

  return {
    simulate,
    async close() {
      worker.shutdown();
      await running.catch(() => undefined);
      await env.teardown();
    },
  };
}

/** One preview on a server of its own. */
export async function simulateJourney(
  options: SimulationRequest & { testServerPath?: string },
): Promise<SimulationResult> {
  const simulator = await createSimulator(options.testServerPath);
  try {
    return await simulator.simulate(options);
  } finally {
    await simulator.close();
  }
}

const ms = (iso: string) => Duration.fromISO(iso).toMillis();
// The test server's clock also moves while activities run, by a few milliseconds; a preview shows seconds.
const wholeSeconds = (epochMs: number) => DateTime.fromMillis(Math.floor(epochMs / 1000) * 1000);
