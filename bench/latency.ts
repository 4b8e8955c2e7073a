// From an EHR event to the message at the peer: POST /v1/events for a journey of the clinic's that sends at
// once (transactional), timed from the request until the peer holds the message; against a raw workflow
// with one activity posting the same words to the same peer, timed from its start. Events arrive at a
// fixed rate, half for patients on SMS and half on email, as an EHR sends them: without waiting.
import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import { postEvent } from './api-client';
import type { BenchContext } from './context';
import { SEND_NOW_EVENT } from './journeys';
import { openLoop, percentile } from './measure';
import type { BenchPatient } from './patients';
import { result, type BenchOutcome } from './results';
import { RAW_TASK_QUEUE } from './workflows/raw';

/**
 * Each patient's latency, from when its unit began to its first message at the peer, and how much of it
 * was the unit's own call (the API's answer, the start's).
 */
async function timed(
  ctx: BenchContext,
  patients: BenchPatient[],
  perSecond: number,
  send: (patient: BenchPatient) => Promise<void>,
): Promise<{ latencies: number[]; calls: number[] }> {
  const began = new Map<string, number>();
  const calls: number[] = [];
  await openLoop(patients.length, perSecond, async (index) => {
    const patient = patients[index]!;
    const at = Date.now();
    began.set(patient.address, at);
    await send(patient);
    calls.push(Date.now() - at);
  });
  const addresses = patients.map((patient) => patient.address);
  await ctx.arrivals.waitFor(addresses, 120_000);
  const latencies = addresses.flatMap((address) => {
    const arrived = ctx.arrivals.times(address)[0];
    return arrived === undefined ? [] : [arrived - began.get(address)!];
  });
  return { latencies, calls };
}

export async function latency(ctx: BenchContext): Promise<BenchOutcome> {
  const { events, perSecond } = ctx.scale.latency;
  const [rawPatients, patients] = [await ctx.patients.create(events), await ctx.patients.create(events)];
  const today = DateTime.now().setZone(ctx.zone).toISODate()!;
  ctx.say(`latency: ${events} raw sends, then ${events} events through the API, ${perSecond} a second`);
  const raw = await timed(ctx, rawPatients, perSecond, async (patient) => {
    await ctx.rawClient.workflow.start('rawSendWorkflow', {
      taskQueue: RAW_TASK_QUEUE,
      workflowId: `raw-send-${randomUUID()}`,
      args: [ctx.rawMessage(patient)],
    });
  });
  const carebell = await timed(ctx, patients, perSecond, (patient) =>
    postEvent(ctx, {
      type: SEND_NOW_EVENT,
      patient: { ehrId: patient.externalId },
      eventId: randomUUID(),
      anchorDate: today,
    }),
  );
  const note = (p: number) =>
    `ms from POST /v1/events to the message at the peer, p${p} of ${carebell.latencies.length} (${events} events at ${perSecond}/s, half SMS, half email; the API answered in ${percentile(carebell.calls, p).toFixed(0)} ms at p${p}); baseline: raw one-activity workflow posting the same words, from its start (answered in ${percentile(raw.calls, p).toFixed(0)} ms)`;
  return {
    results: [
      result('latency-p50', {
        value: percentile(carebell.latencies, 50),
        unit: 'ms',
        baseline: percentile(raw.latencies, 50),
        target: { of: 'ratio', op: '<=', bound: 1.5 },
        note: note(50),
      }),
      result('latency-p99', {
        value: percentile(carebell.latencies, 99),
        unit: 'ms',
        baseline: percentile(raw.latencies, 99),
        target: { of: 'ratio', op: '<=', bound: 2 },
        note: note(99),
      }),
    ],
    checks: [
      await ctx.arrivals.check(
        'latency',
        patients.map((patient) => patient.address),
      ),
      await ctx.arrivals.check(
        'latency (raw baseline)',
        rawPatients.map((patient) => patient.address),
      ),
    ],
  };
}
