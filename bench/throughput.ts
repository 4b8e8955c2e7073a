// Due sends per second: journeys enrolled as an EHR event enrolls them (enrollment row, then the workflow),
// each with one send due at once that passes every rule (consent, window, caps, suppressions) and goes out
// through the real peers, half by SMS and half by email; against a raw workflow with one no-op activity.
// The callers wait for each journey to finish, so a rate is sends completed, not sends started. A sample
// of histories gives the Temporal actions each send costs.
import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import type { JourneyWorkflow } from '../domain/journey';
import { enroll } from '../usecases/enroll';
import type { BenchContext } from './context';
import { CpuMeter } from './cpu';
import { meanActions } from './histories';
import { sendNowJourney } from './journeys';
import { closedLoop, median } from './measure';
import type { BenchPatient } from './patients';
import { result, type BenchOutcome } from './results';
import { RAW_TASK_QUEUE } from './workflows/raw';

const WARM_UP = 20;

/** Enrolls `patients` one by one in a send-now journey; resolves to sends per second. */
export function dueSends(
  ctx: BenchContext,
  patients: BenchPatient[],
  concurrency: number,
  started: string[],
) {
  const deps = ctx.enrollmentDeps();
  const journey = sendNowJourney();
  const today = DateTime.now().setZone(ctx.zone).toISODate()!;
  return closedLoop(patients.length, concurrency, async (index) => {
    const enrolled = await enroll(deps, {
      clinicId: ctx.clinicId,
      patientId: patients[index]!.id,
      journey,
      anchorDate: today,
      occurrence: randomUUID(),
    });
    started.push(enrolled.workflowId);
    await ctx.client.workflow.getHandle<JourneyWorkflow>(enrolled.workflowId).result();
  });
}

/** Raw one-activity workflows; resolves to completions per second. */
export function rawWorkflows(ctx: BenchContext, total: number, concurrency: number, started: string[]) {
  return closedLoop(total, concurrency, async () => {
    const workflowId = `raw-${randomUUID()}`;
    started.push(workflowId);
    await ctx.rawClient.workflow.execute('rawWorkflow', {
      taskQueue: RAW_TASK_QUEUE,
      workflowId,
      args: ['x'],
    });
  });
}

export async function throughput(ctx: BenchContext): Promise<BenchOutcome> {
  const { rounds, perRound, concurrency, historySample } = ctx.scale.throughput;
  const patients = await ctx.patients.create(WARM_UP + rounds * perRound);
  const sent: string[] = [];
  const raw: string[] = [];
  ctx.say(`throughput: warming up, then ${rounds} rounds of ${perRound} each, ${concurrency} callers`);
  await rawWorkflows(ctx, WARM_UP, concurrency, []);
  await dueSends(ctx, patients.slice(0, WARM_UP), concurrency, []);
  const rates = { raw: [] as number[], sends: [] as number[] };
  const cpu = { raw: new CpuMeter(), sends: new CpuMeter() };
  for (let round = 0; round < rounds; round++) {
    rates.raw.push(await cpu.raw.during(() => rawWorkflows(ctx, perRound, concurrency, raw)));
    const slice = patients.slice(WARM_UP + round * perRound, WARM_UP + (round + 1) * perRound);
    rates.sends.push(await cpu.sends.during(() => dueSends(ctx, slice, concurrency, sent)));
    ctx.say(
      `throughput round ${round + 1}: raw ${rates.raw.at(-1)!.toFixed(1)}/s, sends ${rates.sends.at(-1)!.toFixed(1)}/s`,
    );
  }
  const addresses = patients.map((patient) => patient.address);
  await ctx.arrivals.waitFor(addresses, 30_000);
  const check = await ctx.arrivals.check('throughput', addresses);

  const every = (ids: string[]) =>
    ids.filter((_, index) => index % Math.ceil(ids.length / historySample) === 0);
  const [sendActions, rawActions] = [
    await meanActions(ctx.client, every(sent)),
    await meanActions(ctx.rawClient, every(raw)),
  ];
  return {
    results: [
      result('throughput', {
        value: median(rates.sends),
        unit: 'sends/s',
        baseline: median(rates.raw),
        target: { of: 'ratio', op: '>=', bound: 1.2 },
        note: `median of ${rounds} rounds of ${perRound} journeys (enroll, one send, end recorded), half SMS, half email, ${concurrency} callers; baseline: raw workflow with one no-op activity`,
      }),
      result('throughput-cpu', {
        value: cpu.sends.total() / sent.length,
        unit: 'CPU ms',
        baseline: cpu.raw.total() / raw.length,
        note: `CPU per due send in the rounds, every process on the machine's side: ${cpu.sends.describe(sent.length)}; baseline: per raw workflow, ${cpu.raw.describe(raw.length)}`,
      }),
      result('actions-per-send', {
        value: sendActions.total,
        unit: 'actions',
        baseline: rawActions.total,
        target: { of: 'value', op: '<=', bound: 4 },
        note: `billable Temporal actions per due send, from ${every(sent).length} histories: ${JSON.stringify(sendActions.byKind)}; baseline: the raw workflow ${JSON.stringify(rawActions.byKind)}`,
      }),
    ],
    checks: [check],
  };
}
