// The ways in misbehaving: an EHR that repeats events and sends them out of order (through
// usecases/handle-event.ts, as `carebell events send` and the API do), and a sweep over three clinics
// of which one holds a patient record that cannot be decrypted.
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { publishJourneyVersion } from '../../db/queries/journeys';
import { withClinic } from '../../db/tenant';
import { cancelSignal, type JourneyResult } from '../../domain/journey';
import { sweepProgressQuery, type SweepWorkflow } from '../../domain/sweep';
import { builtInJourneys } from '../../journeys/built-in';
import type { ClinicEvent } from '../../journeys/events';
import { validateJourney } from '../../journeys/schema';
import { handleEvent } from '../../usecases/handle-event';
import { Violation } from '../context';
import type { Scenario } from '../runner';
import { messagesTo, resultWithin, zoneAtHour } from './common';

export const ehrDuplicateOutOfOrder: Scenario = {
  name: 'ehr-duplicate-out-of-order',
  breaks:
    'the EHR repeats dispense d1, then d2 of the same prescription ends J1 and starts J2, then d1 arrives again late (and d2 twice)',
  fast: false,
  async run(ctx) {
    const zone = zoneAtHour();
    const patient = await ctx.patient({ timeZone: zone });
    const { clinicId, patientId } = patient;
    // The clinic's own refill journey: remind 20 s after the dispense, then end (the built-in one waits
    // until days before the supply runs out). Enrollment pins it.
    const builtIn = builtInJourneys().find((journey) => journey.key === 'refill')!;
    const quick = validateJourney({
      ...builtIn,
      steps: [
        { id: 'before-supply-ends', type: 'wait', for: 'PT20S' },
        { id: 'refill-due', type: 'send', template: 'refill-due' },
        { id: 'done', type: 'exit', reason: 'fault-suite' },
      ],
    });
    if (!quick.ok) throw new Error(quick.errors.join('; '));
    await withClinic(ctx.db, clinicId, (tx) =>
      publishJourneyVersion(tx, clinicId, quick.value, builtIn.version),
    );
    await ctx.startWorker();
    const deps = ctx.enrollmentDeps();
    const today = DateTime.now().setZone(zone);
    const dispense = (eventId: string, days: number): ClinicEvent => ({
      type: 'medication.dispensed',
      patient: { id: patientId },
      eventId,
      subject: 'rx-faults-1',
      anchorDate: today.plus({ days }).toISODate()!,
      facts: { daysSupply: '30', refillsRemaining: '1' },
    });
    const send = async (event: ClinicEvent) => {
      const outcome = await handleEvent(deps, clinicId, event);
      for (const started of outcome.started) ctx.track(started.workflowId);
      return outcome;
    };

    const d1 = await send(dispense('d1', 30));
    const j1 = d1.started[0];
    if (!j1?.created) throw new Violation('d1 did not start a refill journey');
    const d1Again = await send(dispense('d1', 30));
    ctx.expect(
      d1Again.started.every((started) => started.workflowId === j1.workflowId && !started.created) &&
        d1Again.signalled.length === 0,
      'the duplicate d1 started or signalled a journey',
    );
    const d2 = await send(dispense('d2', 60));
    const j2 = d2.started[0];
    if (!j2?.created) throw new Violation('d2 did not start a second refill journey');
    ctx.expect(
      d2.signalled.some((signalled) => signalled.workflowId === j1.workflowId),
      'd2 was not passed to J1, whose goal it is',
    );
    const j1End = await resultWithin(ctx.journeyHandle(j1.workflowId), 'J1', 30_000);
    ctx.expect(j1End.outcome === 'goal-met', `J1 ended ${j1End.outcome}, expected goal-met (d2 is its goal)`);

    // The EHR re-sends d1, long after: it must change nothing.
    const late = await send(dispense('d1', 30));
    ctx.expect(
      late.signalled.length === 0,
      `the late repeat of d1 was passed to ${late.signalled.length} running journey(s), J2 among them: a processed event acted again`,
    );
    ctx.expect(
      late.started.every((started) => !started.created),
      'the late repeat of d1 started a new journey',
    );
    const d2Again = await send(dispense('d2', 60));
    ctx.expect(
      d2Again.started.every((started) => started.workflowId === j2.workflowId && !started.created) &&
        d2Again.signalled.length === 0,
      'the duplicate d2 started or signalled a journey',
    );

    const j2End: JourneyResult = await resultWithin(ctx.journeyHandle(j2.workflowId), 'J2', 60_000);
    const reminded = j2End.timeline.some((entry) => entry.step === 'refill-due' && entry.outcome === 'sent');
    ctx.expect(
      reminded,
      `J2 ended ${j2End.outcome} and its refill reminder was ${reminded ? 'sent' : 'never sent'}`,
    );
    ctx.expect(messagesTo(ctx, patient.phone).length === 1, 'the patient did not get exactly one reminder');
    const rows = await ctx.owner.execute<{ n: number }>(
      sql`select count(*)::int as n from enrollments where patient_id = ${patientId}`,
    );
    ctx.expect(rows[0]?.n === 2, `${rows[0]?.n} enrollments, expected 2 (J1, J2)`);
    ctx.note(`J1 ${j1End.outcome}, J2 ${j2End.outcome} with its reminder ${reminded ? 'sent' : 'lost'}`);
  },
};

const SWEEP_BOUND_MS = 45_000;

/** Which clinic (1-based) the sweep is working on, from its progress query. */
async function clinicReached(sweep: WorkflowHandle<SweepWorkflow>): Promise<number | undefined> {
  const progress = await sweep.query(sweepProgressQuery).catch(() => undefined);
  return progress && progress.clinicIndex + 1;
}

export const poisonedRecordSweep: Scenario = {
  name: 'poisoned-record-sweep',
  breaks:
    "one patient's date of birth cannot be decrypted (tampered ciphertext) in the middle clinic of a screening sweep over three",
  fast: false,
  settleMs: 20_000,
  async run(ctx) {
    const zone = 'America/New_York';
    const today = DateTime.now().setZone(zone).startOf('day');
    // Colorectal screening from 45: these patients turn 45 in 20 days, within the sweep's 30, so each is
    // enrolled in a screening journey that waits (no message during the scenario).
    const dateOfBirth = today.minus({ years: 45 }).plus({ days: 20 }).toISODate()!;
    const clinics: string[] = [];
    for (let index = 0; index < 3; index++) clinics.push(await ctx.clinic({ timeZone: zone }));
    // The sweep visits clinics in id order: the poisoned one is in the middle.
    clinics.sort();
    const patients = new Map<string, string[]>();
    for (const clinicId of clinics) {
      const ids: string[] = [];
      for (let index = 0; index < 2; index++) {
        ids.push(
          (await ctx.patient({ timeZone: zone, clinicId, dateOfBirth, sexAtBirth: 'male' })).patientId,
        );
      }
      patients.set(clinicId, ids);
    }
    const poisonedClinic = clinics[1]!;
    const poisoned = [...patients.get(poisonedClinic)!].sort()[0]!;
    await ctx.owner.execute(sql`
      update patients
      set date_of_birth_enc = overlay(date_of_birth_enc placing
        (case when substr(date_of_birth_enc, 20, 1) = 'A' then 'B' else 'A' end) from 20 for 1)
      where id = ${poisoned}`);

    await ctx.startWorker();
    const sweep: WorkflowHandle<SweepWorkflow> = await ctx.client.workflow.start<SweepWorkflow>(
      'sweepWorkflow',
      {
        workflowId: ctx.track(`sweep:${ctx.taskQueue}:screening-check:faults-${randomUUID().slice(0, 8)}`),
        taskQueue: ctx.taskQueue,
        args: [{ sweep: 'screening-check', batchSize: 10, startsPerSecond: 100 }],
      },
    );
    const progress = await resultWithin(sweep, 'the sweep', SWEEP_BOUND_MS).catch(async (error: unknown) => {
      const pending = (await sweep.describe()).raw.pendingActivities?.[0];
      const stuckOn = pending
        ? `; its ${pending.activityType?.name ?? 'activity'} is on attempt ${pending.attempt ?? '?'}`
        : '';
      ctx.violations.push(
        `${(error as Error).message} (at clinic ${(await clinicReached(sweep)) ?? '?'} of 3${stuckOn})`,
      );
      return undefined;
    });

    const enrolled = await ctx.owner.execute<{ clinic_id: string; patient_id: string; workflow_id: string }>(
      sql`select clinic_id, patient_id, workflow_id from enrollments`,
    );
    clinics.forEach((clinicId, index) => {
      const readable = patients.get(clinicId)!.filter((id) => id !== poisoned);
      const done = readable.filter((id) => enrolled.some((row) => row.patient_id === id)).length;
      ctx.expect(
        done === readable.length,
        `clinic ${index + 1} of 3${clinicId === poisonedClinic ? ' (the poisoned one)' : ''}: ${done} of ${readable.length} readable patients enrolled`,
      );
    });
    ctx.expect(!enrolled.some((row) => row.patient_id === poisoned), 'the unreadable patient was enrolled');
    // Their screening journeys wait for weeks: end them, so the checks see finished journeys.
    for (const row of enrolled) {
      await ctx
        .journeyHandle(row.workflow_id)
        .signal(cancelSignal)
        .catch(() => {});
    }
    if (progress) ctx.note(`swept ${progress.scanned} patients, enrolled ${progress.enrolled}`);
    else ctx.note(`${enrolled.length} of 5 readable patients enrolled before the bound`);
  },
};
