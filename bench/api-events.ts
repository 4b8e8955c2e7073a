// The HTTP API's intake: dispense events (each starts a refill journey, which then sleeps) accepted per
// second through POST /v1/events over 50 connections, against the same events handed to handleEvent in
// this process by 50 callers (what the route does, without HTTP, authentication, schemas and idempotency).
// Then one FHIR bundle, the sample an EHR export looks like (patients, consents, dispenses, appointments,
// coverage, screenings, some entries invalid on purpose), timed until its batch-response is ready.
import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import { sampleTransactionBundle } from '../fhir/sample-bundle';
import type { ClinicEvent } from '../journeys/events';
import { handleEvent } from '../usecases/handle-event';
import { postBundle, postEvent } from './api-client';
import type { BenchContext } from './context';
import { workflowIdsOf } from './enrollment-rows';
import { asleepSince, latestSettled } from './histories';
import { closedLoop } from './measure';
import type { BenchPatient } from './patients';
import { result, type BenchOutcome } from './results';

export function dispensed(patient: BenchPatient, anchorDate: string): ClinicEvent {
  return {
    type: 'medication.dispensed',
    patient: { ehrId: patient.externalId },
    eventId: randomUUID(),
    subject: `rx-${patient.externalId}`,
    anchorDate,
    facts: { daysSupply: '30', refillsRemaining: '2' },
  };
}

/** Waits until the last journeys a run started sleep, so the next run does not pay for this one's tail. */
async function drained(ctx: BenchContext, patients: BenchPatient[]): Promise<void> {
  const last = patients.slice(-30).map((patient) => patient.id);
  await latestSettled(ctx.client, await workflowIdsOf(ctx.owner, ctx.clinicId, last), asleepSince, 300_000);
}

export async function apiEvents(ctx: BenchContext): Promise<BenchOutcome> {
  const { events, connections, fhirEntries } = ctx.scale.apiEvents;
  const [overHttp, direct] = [await ctx.patients.create(events), await ctx.patients.create(events)];
  const anchorDate = DateTime.now().setZone(ctx.zone).plus({ days: 30 }).toISODate()!;
  ctx.say(`api-events: ${events} events over ${connections} connections, then ${events} handled directly`);
  const httpRate = await closedLoop(events, connections, (index) =>
    postEvent(ctx, dispensed(overHttp[index]!, anchorDate)),
  );
  await drained(ctx, overHttp);
  const deps = ctx.enrollmentDeps();
  const directRate = await closedLoop(events, connections, async (index) => {
    await handleEvent(deps, ctx.clinicId, dispensed(direct[index]!, anchorDate), 'bench');
  });
  await drained(ctx, direct);

  // The sample's entries per patient vary a little with the seed: size it from a small one.
  const pilot = sampleTransactionBundle({ patients: 20, seed: 1 }).expected.entries / 20;
  const { bundle, expected } = sampleTransactionBundle({
    patients: Math.round(fhirEntries / pilot),
    seed: 7,
  });
  ctx.say(`api-events: a FHIR bundle of ${expected.entries} entries`);
  const began = Date.now();
  const job = await postBundle(ctx, bundle, 600_000);
  const fhirSeconds = (Date.now() - began) / 1000;
  return {
    results: [
      result('api-events', {
        value: httpRate,
        unit: 'events/s',
        baseline: directRate,
        note: `medication.dispensed events (each enrolls a refill journey) accepted by POST /v1/events over ${connections} connections; baseline: handleEvent called directly by ${connections} callers; ${events} each`,
      }),
      result('fhir-entries', {
        value: expected.entries / fhirSeconds,
        unit: 'entries/s',
        note: `one POST /fhir/r4 transaction of ${expected.entries} entries (${expected.patients} patients and their consents, dispenses, appointments, coverage, screenings) until its batch-response; statuses ${JSON.stringify(job.statuses)}`,
      }),
    ],
    checks: [],
  };
}
