// Previews a journey: the real interpreter workflow on Temporal's time-skipping test server, with the
// simulation activities, so months of a journey pass in seconds and nothing is stored or sent.
import { startTimeSkippingServer } from '../infra/temporal-binaries';
import { Worker } from '@temporalio/worker';
import { DateTime, Duration } from 'luxon';
import { createSimulationActivities, type SamplePatient } from '../activities/simulation';
import type { JourneyDefinition } from '../journeys/schema';
import { eventSignal, type JourneyWorkflow, type TimelineEntry } from '../domain/journey';
import type { Category, Channel } from '../domain/messaging';
import { workflowsPath } from '../worker/workflow-bundle';

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

/** The facts a sample event brings, its `datesInDays` made dates from today in the patient's zone. */
export function sampleFacts(event: SampleEvent, timeZone: string): Record<string, string> {
  const today = DateTime.now().setZone(timeZone);
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
  category: Category | null;
  variant: string | null;
  outcome: TimelineEntry['outcome'];
  reason: string | null;
}

export async function simulateJourney(options: {
  definition: JourneyDefinition;
  patient: SamplePatient;
  event: SampleEvent;
  testServerPath?: string;
}): Promise<{ outcome: string; timeline: SimulatedEntry[]; history: unknown }> {
  const { definition, patient, event } = options;
  const env = await startTimeSkippingServer(options.testServerPath);
  try {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'simulation',
      workflowsPath,
      activities: createSimulationActivities(patient),
    });
    const startedAt = await env.currentTimeMs();
    const anchorDate =
      event.anchorDate ??
      DateTime.fromMillis(startedAt, { zone: patient.timeZone })
        .plus({ days: event.anchorInDays ?? 0 })
        .toISODate()!;
    const result = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<JourneyWorkflow>('journeyWorkflow', {
        taskQueue: 'simulation',
        workflowId: `simulation-${definition.key}`,
        args: [
          {
            clinicId: 'simulation',
            patientId: 'sample-patient',
            episode: 'preview',
            definition,
            anchorDate,
            facts: event.facts,
          },
        ],
      });
      for (const later of [...(event.then ?? [])].sort((a, b) => ms(a.after) - ms(b.after))) {
        const wait = startedAt + ms(later.after) - (await env.currentTimeMs());
        if (wait > 0) await env.sleep(wait);
        await handle.signal(eventSignal, later.event);
      }
      const finished = await handle.result();
      return { ...finished, history: await handle.fetchHistory() };
    });
    return {
      outcome: result.outcome,
      history: result.history,
      timeline: result.timeline.map((entry) => ({
        at: wholeSeconds(entry.at).toUTC().toISO({ suppressMilliseconds: true })!,
        localTime: wholeSeconds(entry.at).setZone(patient.timeZone).toISO({ suppressMilliseconds: true })!,
        step: entry.step,
        channel: entry.channel ?? null,
        language: entry.language ?? null,
        category: entry.category ?? null,
        variant: entry.variant ?? null,
        outcome: entry.outcome,
        reason: entry.reason ?? null,
      })),
    };
  } finally {
    await env.teardown();
  }
}

const ms = (iso: string) => Duration.fromISO(iso).toMillis();
// The test server's clock also moves while activities run, by a few milliseconds; a preview shows seconds.
const wholeSeconds = (epochMs: number) => DateTime.fromMillis(Math.floor(epochMs / 1000) * 1000);
