// A clinic's refill campaign: its EHR exports every patient's active prescription and last dispense as one
// FHIR bundle (POST /fhir/r4; the import runs it in the background in batches), and each dispense enrolls
// the patient in the refill journey (enrollment row, workflow started). The bulk path is this one, not
// POST /v1/events: events are what an EHR sends as things happen, a bundle is how a backlog arrives, and
// the CSV import only writes patients. Timed from the POST until every journey sleeps in its first wait
// (its history's last workflow task started the timer, by the server's clock); against raw starts of an
// empty workflow, the same count, until each has completed.
import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import { postBundle } from './api-client';
import type { BenchContext } from './context';
import { CpuMeter } from './cpu';
import { workflowIdsSince } from './enrollment-rows';
import { asleepSince, completedAt, latestSettled } from './histories';
import { inParallel } from './measure';
import type { BenchPatient } from './patients';
import { result, type BenchOutcome } from './results';
import { RAW_TASK_QUEUE } from './workflows/raw';

const UCUM = 'http://unitsofmeasure.org';
const MRN_SYSTEM = 'urn:oid:2.16.840.1.113883.19.5';

/** Each patient's active prescription and its dispense today: 30 days' supply, two refills left. */
export function campaignBundle(patients: BenchPatient[], today: string) {
  const entry = patients.flatMap((patient) => {
    const subject = { identifier: { system: MRN_SYSTEM, value: patient.externalId } };
    const requestId = `mr-${patient.externalId}`;
    return [
      {
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: {
          resourceType: 'MedicationRequest',
          id: requestId,
          status: 'active',
          intent: 'order',
          medicationCodeableConcept: {
            coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '197361' }],
          },
          subject,
          dosageInstruction: [{ text: 'Take 1 tablet daily' }],
          dispenseRequest: { numberOfRepeatsAllowed: 2 },
        },
        request: { method: 'POST', url: 'MedicationRequest' },
      },
      {
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: {
          resourceType: 'MedicationDispense',
          id: `md-${patient.externalId}`,
          status: 'completed',
          subject,
          authorizingPrescription: [{ reference: `MedicationRequest/${requestId}` }],
          daysSupply: { value: 30, unit: 'days', system: UCUM, code: 'd' },
          whenHandedOver: `${today}T10:00:00Z`,
        },
        request: { method: 'POST', url: 'MedicationDispense' },
      },
    ];
  });
  return { resourceType: 'Bundle', type: 'batch', entry };
}

export async function enrollment(ctx: BenchContext): Promise<BenchOutcome> {
  const { patients: count } = ctx.scale.enrollment;
  const patients = await ctx.patients.create(count);
  const settleWithin = 15 * 60_000;

  ctx.say(`enrollment: ${count} raw starts of an empty workflow`);
  const rawIds = patients.map(() => `raw-empty-${randomUUID()}`);
  const cpu = { raw: new CpuMeter(), enrollments: new CpuMeter() };
  const rawBegan = Date.now();
  await cpu.raw.during(async () => {
    await inParallel(rawIds, 50, async (workflowId) => {
      await ctx.rawClient.workflow.start('emptyWorkflow', {
        taskQueue: RAW_TASK_QUEUE,
        workflowId,
        args: [],
      });
    });
    // The last ones started are the last to finish: the CPU is read once they have, before the
    // histories of all are read for the figure.
    await latestSettled(ctx.rawClient, rawIds.slice(-20), completedAt, settleWithin);
  });
  const rawSeconds =
    ((await latestSettled(ctx.rawClient, rawIds, completedAt, settleWithin)) - rawBegan) / 1000;

  ctx.say(`enrollment: a FHIR bundle enrolling ${count} patients in the refill journey`);
  const today = DateTime.now().setZone(ctx.zone).toISODate()!;
  const bundle = campaignBundle(patients, today);
  const began = Date.now();
  const { job, imported, workflowIds } = await cpu.enrollments.during(async () => {
    const job = await postBundle(ctx, bundle, settleWithin);
    const imported = (Date.now() - began) / 1000;
    const workflowIds = await workflowIdsSince(ctx.owner, ctx.clinicId, 'refill', new Date(began - 1000));
    await latestSettled(ctx.client, workflowIds.slice(-20), asleepSince, settleWithin);
    return { job, imported, workflowIds };
  });
  const seconds = ((await latestSettled(ctx.client, workflowIds, asleepSince, settleWithin)) - began) / 1000;
  const rate = workflowIds.length / seconds;
  const rawRate = count / rawSeconds;
  const scaled = (perSecond: number) => 10_000 / perSecond;
  return {
    results: [
      result('enrollment', {
        value: rate,
        unit: 'enrollments/s',
        baseline: rawRate,
        target: { of: 'ratio', op: '>=', bound: 0.8 },
        note: `${workflowIds.length} of ${count} patients enrolled in refill through one FHIR bundle (${bundle.entry.length} entries, statuses ${JSON.stringify(job.statuses)}; the import finished after ${imported.toFixed(1)} s) until every journey slept in its first wait: ${seconds.toFixed(1)} s; baseline: ${count} raw starts of an empty workflow until completed: ${rawSeconds.toFixed(1)} s`,
      }),
      result('enrollment-cpu', {
        value: cpu.enrollments.total() / workflowIds.length,
        unit: 'CPU ms',
        baseline: cpu.raw.total() / count,
        note: `CPU per enrollment until the last journeys slept, every process on the machine's side: ${cpu.enrollments.describe(workflowIds.length)}; baseline: per raw start, ${cpu.raw.describe(count)}`,
      }),
      result('enrollment-10k', {
        value: scaled(rate),
        unit: 's',
        baseline: scaled(rawRate),
        target: { of: 'value', op: '<=', bound: 60 },
        note:
          count === 10_000
            ? 'seconds for 10,000 enrollments, as measured'
            : `seconds for 10,000 enrollments at the rate measured with ${count}`,
      }),
    ],
    checks: [],
  };
}
