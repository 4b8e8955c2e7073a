// The single-trigger way into journeys: EHR events enroll with the clinic's pinned version, a repeated
// event finds the journey the first one started, goal events end running journeys about the same thing,
// and a bad event is refused before anything is written or started.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { Worker } from '@temporalio/worker';
import { sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { publishJourneyVersion } from '../../db/queries/journeys';
import { withClinic } from '../../db/tenant';
import { builtInJourneys } from '../../journeys/built-in';
import type { ClinicEvent } from '../../journeys/events';
import type { JourneyDefinition } from '../../journeys/schema';
import { isFailureOf } from '../../domain/errors';
import { preferencesChangedSignal, timelineQuery } from '../../domain/journey';
import { enroll, type EnrollmentDeps } from '../../usecases/enroll';
import { handleEvent } from '../../usecases/handle-event';
import type { journeyWorkflow } from '../../workflows/journey';
import { createPatient, createTestWorker } from '../support/fixtures';
import {
  connectTestTemporal,
  createTestDatabase,
  startTestPeers,
  testCipher,
  uniqueTaskQueue,
} from '../support/harness';

const refill = builtInJourneys().find((journey) => journey.key === 'refill')!;
const screening = builtInJourneys().find((journey) => journey.key === 'screening')!;
const inDays = (days: number) => DateTime.utc().plus({ days }).toISODate();
const { EventType } = proto.temporal.api.enums.v1;
const supply = { daysSupply: '30', refillsRemaining: '2' };

describe('EHR events into journeys', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let peers: Awaited<ReturnType<typeof startTestPeers>>;
  let temporal: Awaited<ReturnType<typeof connectTestTemporal>>;
  let client: Client;
  let worker: Worker;
  let running: Promise<void>;
  let deps: EnrollmentDeps;

  before(async () => {
    [database, peers, temporal] = await Promise.all([
      createTestDatabase(),
      startTestPeers(),
      connectTestTemporal(),
    ]);
    client = temporal.client;
    const taskQueue = uniqueTaskQueue('events');
    worker = await createTestWorker(temporal.nativeConnection, taskQueue, database.db, peers, client);
    running = worker.run();
    deps = { db: database.db, cipher: testCipher, client, taskQueue };
  });
  after(async () => {
    worker?.shutdown();
    await running;
    await temporal?.close();
    await peers?.stop();
    await database?.close();
  });

  const enrollmentRows = (patientId: string) =>
    database.owner.db.execute<{
      journey_key: string;
      journey_version: number;
      status: string;
      outcome: string | null;
      workflow_id: string;
    }>(
      sql`select journey_key, journey_version, status, outcome, workflow_id from enrollments where patient_id = ${patientId} order by started_at`,
    );

  async function publish(clinicId: string, definition: JourneyDefinition) {
    return withClinic(database.db, clinicId, (tx) => publishJourneyVersion(tx, clinicId, definition, 1));
  }

  it("pins the clinic's version at enrollment; a repeated event finds the same journey", async () => {
    const patient = await createPatient(database.db, { phone: '+14155550501' });
    const v2 = await publish(patient.clinicId, { ...refill, name: 'Refill, clinic edit' });
    assert.equal(v2.version, 2);
    const dispensed: ClinicEvent = {
      type: 'medication.dispensed',
      patient: { id: patient.patientId },
      eventId: 'dispense-1',
      subject: 'rx-1',
      anchorDate: inDays(30),
      facts: supply,
    };
    const first = await handleEvent(deps, patient.clinicId, dispensed);
    assert.deepEqual(
      first.started.map((started) => [started.journey, started.version, started.created]),
      [['refill', 2, true]],
    );

    // The clinic edits the journey again; the repeat of the first event still finds v2.
    assert.equal((await publish(patient.clinicId, { ...refill, name: 'Refill, third edit' })).version, 3);
    const repeat = await handleEvent(deps, patient.clinicId, dispensed);
    assert.deepEqual(repeat.started, [{ ...first.started[0]!, created: false }]);
    assert.deepEqual(repeat.signalled, [], 'an event is never the goal of the journey it started');
    assert.equal((await enrollmentRows(patient.patientId)).length, 1);

    // The next dispense of the same prescription ends the first journey (its goal) and starts another on v3.
    const next = await handleEvent(deps, patient.clinicId, { ...dispensed, eventId: 'dispense-2' });
    assert.deepEqual(
      next.started.map((enrolled) => [enrolled.version, enrolled.created]),
      [[3, true]],
    );
    assert.deepEqual(
      next.signalled.map((signalled) => signalled.workflowId),
      [first.started[0]!.workflowId],
    );
    const ended = await client.workflow
      .getHandle<typeof journeyWorkflow>(first.started[0]!.workflowId)
      .result();
    assert.equal(ended.outcome, 'goal-met');
    const rows = await enrollmentRows(patient.patientId);
    assert.deepEqual(
      [...rows].map((row) => [row.journey_version, row.status, row.outcome]),
      [
        [2, 'completed', 'goal-met'],
        [3, 'active', null],
      ],
    );

    // A dispense of another prescription, or of one the EHR does not name, leaves this one's journey alone.
    const other = await handleEvent(deps, patient.clinicId, {
      ...dispensed,
      eventId: 'dispense-3',
      subject: 'rx-2',
    });
    assert.equal(other.started.length, 1);
    assert.deepEqual(other.signalled, []);
    const unnamed = await handleEvent(deps, patient.clinicId, {
      type: 'medication.dispensed',
      patient: { id: patient.patientId },
      eventId: 'dispense-4',
      anchorDate: inDays(30),
      facts: supply,
    });
    assert.deepEqual(
      unnamed.signalled.map((signalled) => signalled.workflowId),
      [],
      'journeys about a named prescription end only on dispenses of it',
    );
    // A journey stopped from outside stops counting as running when an event finds it gone.
    const rx2Journey = other.started[0]!.workflowId;
    await client.workflow.getHandle(rx2Journey).terminate('test');
    await handleEvent(deps, patient.clinicId, {
      type: 'visit.booked',
      patient: { id: patient.patientId },
    });
    const [terminated] = await database.owner.db.execute<{ status: string; outcome: string }>(
      sql`select status, outcome from enrollments where workflow_id = ${rx2Journey}`,
    );
    assert.deepEqual([terminated?.status, terminated?.outcome], ['exited', 'terminated']);

    // Events that are nobody's goal or trigger reach every running journey, whatever it is about.
    const replied = await handleEvent(deps, patient.clinicId, {
      type: 'message.replied',
      patient: { id: patient.patientId },
    });
    assert.ok(
      replied.signalled.some((signalled) => signalled.workflowId === next.started[0]!.workflowId),
      'the reply reached the journey about rx-1',
    );
  });

  it('plans the opening wait as the enrollment is claimed, and again through the journey when preferences change', async () => {
    const patient = await createPatient(database.db, { timeZone: 'America/Chicago' });
    const anchorDate = inDays(10);
    const { started } = await handleEvent(deps, patient.clinicId, {
      type: 'appointment.booked',
      patient: { id: patient.patientId },
      eventId: 'booked-planned',
      subject: 'appointment-1',
      anchorDate,
      facts: { appointmentTime: '09:30' },
    });
    const { workflowId } = started[0]!;
    const handle = client.workflow.getHandle(workflowId);
    const eventTypes = async () =>
      ((await handle.fetchHistory()).events ?? []).map((event) => EventType[event.eventType!]);
    const timers = async (count: number) => {
      for (let tries = 0; tries < 200; tries++) {
        const types = await eventTypes();
        if (types.filter((type) => type === 'EVENT_TYPE_TIMER_STARTED').length >= count) return types;
        await setTimeout(50);
      }
      assert.fail(`the journey did not start timer ${count}`);
    };
    const nextSendAt = async () => {
      const [row] = await database.owner.db.execute<{ at: string }>(
        sql`select (extract(epoch from next_send_at) * 1000)::bigint as at from enrollments where workflow_id = ${workflowId}`,
      );
      return Number(row!.at);
    };
    // The first reminder goes three days before the visit, 10:00 in the patient's zone.
    const daysBefore = (zone: string) =>
      DateTime.fromISO(anchorDate, { zone }).minus({ days: 3 }).set({ hour: 10 }).toMillis();

    assert.equal(await nextSendAt(), daysBefore('America/Chicago'), 'written with the enrollment row');
    const asleep = await timers(1);
    assert.ok(!asleep.includes('EVENT_TYPE_MARKER_RECORDED'), 'no planning activity before the first sleep');

    // A new zone: the journey plans the same wait again, in it, through its activity.
    await database.owner.db.execute(
      sql`update patients set time_zone = 'Asia/Tokyo' where id = ${patient.patientId}`,
    );
    await handle.signal(preferencesChangedSignal);
    const replanned = await timers(2);
    assert.ok(replanned.includes('EVENT_TYPE_MARKER_RECORDED'));
    assert.equal(await nextSendAt(), daysBefore('Asia/Tokyo'));
    await handle.terminate('test');
  });

  it('lets a late repeat of an old dispense change nothing (d1, d2, d1)', async () => {
    const patient = await createPatient(database.db, { phone: '+14155550507' });
    const d1: ClinicEvent = {
      type: 'medication.dispensed',
      patient: { id: patient.patientId },
      eventId: 'dispense-d1',
      subject: 'rx-9',
      anchorDate: inDays(30),
      facts: supply,
    };
    const first = await handleEvent(deps, patient.clinicId, d1);
    const second = await handleEvent(deps, patient.clinicId, {
      ...d1,
      eventId: 'dispense-d2',
      anchorDate: inDays(60),
    });
    const [j1, j2] = [first.started[0]!.workflowId, second.started[0]!.workflowId];
    assert.deepEqual(
      second.signalled.map((signalled) => signalled.workflowId),
      [j1],
    );

    assert.equal((await client.workflow.getHandle<typeof journeyWorkflow>(j1).result()).outcome, 'goal-met');

    const late = await handleEvent(deps, patient.clinicId, d1);
    assert.deepEqual(late.signalled, [], 'the repeat reaches no journey');
    assert.equal(late.repeat, true);
    assert.deepEqual(
      late.started.map((enrolled) => [enrolled.workflowId, enrolled.created]),
      [[j1, false]],
    );
    const timeline = await client.workflow.getHandle(j2).query(timelineQuery);
    assert.ok(!timeline.some((entry) => entry.outcome === 'goal'), 'the refill journey of d2 goes on');
    const rows = await enrollmentRows(patient.patientId);
    assert.deepEqual(
      [...rows].map((row) => [row.workflow_id, row.status, row.outcome]),
      [
        [j1, 'completed', 'goal-met'],
        [j2, 'active', null],
      ],
    );
    // Remembered as keyed hashes only, per clinic.
    const stored = await database.owner.db.execute<{ event_index: string }>(
      sql`select event_index from processed_events where clinic_id = ${patient.clinicId}`,
    );
    assert.equal(stored.length, 2);
    assert.ok(stored.every((row) => !row.event_index.includes('dispense')));
  });

  it('ends the journey a sweep started about a screening program on a completion reported by name or code', async () => {
    const cases = [
      ['breast', ' Mammogram', '+14155550506'],
      ['colorectal', '82274', '+14155550509'], // a FIT, by its CPT code
    ] as const;
    for (const [program, reported, phone] of cases) {
      const patient = await createPatient(database.db, { phone, sexAtBirth: 'female' });
      // As the screening sweep enrolls: the subject is the program.
      const swept = await enroll(deps, {
        clinicId: patient.clinicId,
        patientId: patient.patientId,
        journey: screening,
        anchorDate: inDays(20),
        occurrence: `screening-check|${program}|${inDays(20)}`,
        subject: program,
      });
      const done = await handleEvent(deps, patient.clinicId, {
        type: 'screening.completed',
        patient: { id: patient.patientId },
        subject: reported,
        occurredOn: inDays(-1),
      });
      assert.deepEqual(
        done.signalled.map((signalled) => signalled.workflowId),
        [swept.workflowId],
        reported,
      );
      const ended = await client.workflow.getHandle<typeof journeyWorkflow>(swept.workflowId).result();
      assert.equal(ended.outcome, 'goal-met');
    }
  });

  it('ends a refill journey on its discontinued medication only, and starts none for as-needed or short courses', async () => {
    const patient = await createPatient(database.db, { phone: '+14155550510' });
    const dispensed = (subject: string, facts: Record<string, string>) =>
      handleEvent(deps, patient.clinicId, {
        type: 'medication.dispensed',
        patient: { id: patient.patientId },
        eventId: `dispense-${subject}`,
        subject,
        anchorDate: inDays(30),
        facts,
      });
    const [kept, stopped] = [await dispensed('rx-a', supply), await dispensed('rx-b', supply)];
    const notStarting: [string, Record<string, string>][] = [
      ['rx-prn', { ...supply, asNeeded: 'true' }],
      ['rx-course', { daysSupply: '10', refillsRemaining: '0' }],
    ];
    for (const [subject, facts] of notStarting) {
      const none = await dispensed(subject, facts);
      assert.deepEqual([none.started, none.excluded], [[], ['refill']]);
    }
    const discontinued = await handleEvent(deps, patient.clinicId, {
      type: 'medication.discontinued',
      patient: { id: patient.patientId },
      subject: 'rx-b',
    });
    assert.deepEqual(
      discontinued.signalled.map((signalled) => signalled.workflowId),
      [stopped.started[0]!.workflowId],
    );
    const ended = await client.workflow
      .getHandle<typeof journeyWorkflow>(stopped.started[0]!.workflowId)
      .result();
    assert.deepEqual([ended.outcome, ended.timeline.at(-1)?.reason], ['ended', 'discontinued']);
    const rows = await enrollmentRows(patient.patientId);
    assert.deepEqual(
      rows.map((row) => [row.workflow_id === kept.started[0]!.workflowId, row.status, row.outcome]),
      [
        [true, 'active', null],
        [false, 'exited', 'ended'],
      ],
    );
  });

  it('takes an appointment booked again on another date (as FHIR reports a move) for a reschedule', async () => {
    const patient = await createPatient(database.db, { phone: '+14155550512' });
    const booked = (eventId: string, days: number) =>
      handleEvent(deps, patient.clinicId, {
        type: 'appointment.booked',
        patient: { id: patient.patientId },
        subject: 'appt-88',
        eventId,
        anchorDate: inDays(days),
        facts: { appointmentTime: '09:30' },
      });
    const first = await booked('book-88', 10);
    const again = await booked('book-88', 10);
    assert.equal(again.signalled.length, 0, 'the same booking repeated is no move');
    const moved = await booked('book-88-moved', 12);
    assert.deepEqual(
      moved.signalled.map((signalled) => signalled.workflowId),
      [first.started[0]!.workflowId],
    );
    const old = await client.workflow
      .getHandle<typeof journeyWorkflow>(first.started[0]!.workflowId)
      .result();
    assert.deepEqual([old.outcome, old.timeline.at(-1)?.reason], ['ended', 'rescheduled']);
  });

  it('moves appointment reminders on a reschedule, ends them on a cancellation, and keeps visits for the lapsed sweep', async () => {
    const patient = await createPatient(database.db, { phone: '+14155550511' });
    const appointment = (type: string, extra: Partial<ClinicEvent> = {}) =>
      handleEvent(deps, patient.clinicId, {
        type,
        patient: { id: patient.patientId },
        subject: 'appt-77',
        ...extra,
      });
    const booked = await appointment('appointment.booked', {
      eventId: 'book-77',
      anchorDate: inDays(10),
      facts: { appointmentTime: '09:30' },
    });
    assert.deepEqual(
      booked.started.map((started) => started.journey),
      ['appointment-reminder'],
    );
    const moved = await appointment('appointment.rescheduled', {
      eventId: 'move-77',
      anchorDate: inDays(12),
      facts: { appointmentTime: '14:00' },
    });
    assert.deepEqual(
      moved.started.map((started) => started.journey),
      ['appointment-reminder'],
    );
    assert.deepEqual(
      moved.signalled.map((signalled) => signalled.workflowId),
      [booked.started[0]!.workflowId],
    );
    const first = await client.workflow
      .getHandle<typeof journeyWorkflow>(booked.started[0]!.workflowId)
      .result();
    assert.deepEqual([first.outcome, first.timeline.at(-1)?.reason], ['ended', 'rescheduled']);
    await appointment('appointment.cancelled');
    const second = await client.workflow
      .getHandle<typeof journeyWorkflow>(moved.started[0]!.workflowId)
      .result();
    assert.deepEqual([second.outcome, second.timeline.at(-1)?.reason], ['ended', 'cancelled']);

    await handleEvent(deps, patient.clinicId, {
      type: 'visit.completed',
      patient: { id: patient.patientId },
      occurredOn: '2025-06-01',
    });
    const [row] = await database.owner.db.execute<{ care_enc: string }>(
      sql`select care_enc from patients where id = ${patient.patientId}`,
    );
    assert.ok(row && !row.care_enc.includes('2025-06-01'), 'care facts are encrypted at rest');
    const care = JSON.parse(
      testCipher.decrypt(row.care_enc, {
        clinicId: patient.clinicId,
        table: 'patients',
        column: 'care_enc',
        rowId: patient.patientId,
      }),
    ) as { lastVisitOn?: string; appointments?: Record<string, string> };
    assert.deepEqual(
      care,
      { lastVisitOn: '2025-06-01', appointments: {} },
      'the cancelled appointment is gone',
    );
    assert.ok(
      !JSON.stringify(care).includes('appt-77'),
      'the EHR appointment id is kept only as a keyed hash',
    );
  });

  it('ends screening journeys of the programs an exclusion ends, and no others', async () => {
    const patient = await createPatient(database.db, {
      phone: '+14155550512',
      sexAtBirth: 'female',
      dateOfBirth: '1975-01-01',
    });
    const swept = Object.fromEntries(
      await Promise.all(
        ['cervical', 'breast'].map(async (program) => [
          program,
          await enroll(deps, {
            clinicId: patient.clinicId,
            patientId: patient.patientId,
            journey: screening,
            anchorDate: inDays(20),
            occurrence: `screening-check|${program}|${inDays(20)}`,
            subject: program,
          }),
        ]),
      ),
    ) as Record<string, Awaited<ReturnType<typeof enroll>>>;
    const excluded = await handleEvent(deps, patient.clinicId, {
      type: 'screening.excluded',
      patient: { id: patient.patientId },
      subject: 'total hysterectomy',
      occurredOn: inDays(-3),
    });
    assert.deepEqual(
      excluded.signalled.map((signalled) => signalled.workflowId),
      [swept.cervical!.workflowId],
    );
    const ended = await client.workflow
      .getHandle<typeof journeyWorkflow>(swept.cervical!.workflowId)
      .result();
    assert.deepEqual([ended.outcome, ended.timeline.at(-1)?.reason], ['ended', 'no-longer-applies']);
  });

  it('finds the patient by EHR id and records a completed screening', async () => {
    const patient = await createPatient(database.db, { phone: '+14155550502', externalId: 'MRN-502' });
    const completed: ClinicEvent = {
      type: 'screening.completed',
      patient: { ehrId: 'MRN-502' },
      subject: 'colorectal',
      occurredOn: '2026-10-01',
    };
    const outcome = await handleEvent(deps, patient.clinicId, completed);
    assert.equal(outcome.patientId, patient.patientId);
    await handleEvent(deps, patient.clinicId, completed);
    const [row] = await database.owner.db.execute<{ count: string }>(
      sql`select count(*) from screening_records where patient_id = ${patient.patientId}`,
    );
    assert.equal(Number(row?.count), 1, 'reported twice, kept once');
  });

  it('audits the EHR-id look-up, found or not, and the screening it records', async () => {
    const patient = await createPatient(database.db, { phone: '+14155550508', externalId: 'MRN-508' });
    await handleEvent(
      deps,
      patient.clinicId,
      {
        type: 'screening.completed',
        patient: { ehrId: 'MRN-508' },
        subject: 'colorectal',
        occurredOn: '2026-10-02',
      },
      'api-key:test',
    );
    await assert.rejects(
      handleEvent(
        deps,
        patient.clinicId,
        { type: 'visit.booked', patient: { ehrId: 'MRN-missing' } },
        'api-key:test',
      ),
    );
    const rows = await database.owner.db.execute<{
      action: string;
      object_id: string | null;
      outcome: string;
    }>(
      sql`select action, object_id, outcome from audit_log
          where clinic_id = ${patient.clinicId} and actor = 'api-key:test' order by id`,
    );
    assert.deepEqual(
      rows.map((row) => [row.action, row.object_id, row.outcome]),
      [
        ['patient.lookup-by-external-id', patient.patientId, 'success'],
        ['screening.create', patient.patientId, 'success'],
        ['patient.lookup-by-external-id', null, 'failure'],
      ],
    );
    assert.ok(!JSON.stringify(rows).includes('MRN'), 'the EHR id itself is not in the audit log');
  });

  it('refuses a bad event with the field and the reason, and writes or starts nothing', async () => {
    const patient = await createPatient(database.db, { phone: '+14155550503' });
    const cases: [ClinicEvent, RegExp][] = [
      [
        { type: 'medication.dispensed', patient: { id: patient.patientId }, eventId: 'x' },
        /^anchorDate: medication.dispensed starts refill \(refillDueDate\)/,
      ],
      [
        { type: 'screening.completed', patient: { id: patient.patientId }, subject: 'mammogram' },
        /screening.completed needs subject .* and occurredOn/,
      ],
      // A fact the journey needs, missing or not what it should be, is refused before anything starts.
      [
        { type: 'coverage.open-enrollment', patient: { id: patient.patientId }, anchorDate: inDays(60) },
        /^facts.opensOn: insurance-reenrollment needs it \(a date YYYY-MM-DD\)$/,
      ],
      [
        {
          type: 'medication.dispensed',
          patient: { id: patient.patientId },
          anchorDate: inDays(30),
          facts: { daysSupply: 'a month', refillsRemaining: '1' },
        },
        /^facts.daysSupply: must be a whole number$/,
      ],
      [
        {
          type: 'appointment.booked',
          patient: { id: patient.patientId },
          anchorDate: inDays(9),
          facts: { appointmentTime: '09:30' },
        },
        /^appointment.booked needs subject \(the EHR's appointment id\)$/,
      ],
    ];
    for (const [event, message] of cases) {
      await assert.rejects(handleEvent(deps, patient.clinicId, event), (error: Error) => {
        assert.ok(isFailureOf(error, 'EventRejected'), error.message);
        assert.match(error.message, message);
        return true;
      });
    }
    // A deceased patient starts no journey.
    const deceased = await createPatient(database.db, { phone: '+14155550505' });
    await database.owner.db.execute(
      sql`update patients set status = 'deceased' where id = ${deceased.patientId}`,
    );
    await assert.rejects(
      handleEvent(deps, deceased.clinicId, {
        type: 'visit.missed',
        patient: { id: deceased.patientId },
        anchorDate: inDays(0),
      }),
      /^CarebellError: patient: is deceased; visit.missed would start re-engagement$/,
    );
    // Neither an unknown patient nor another clinic's is found.
    await assert.rejects(
      handleEvent(deps, patient.clinicId, {
        type: 'visit.missed',
        patient: { ehrId: 'nobody' },
        anchorDate: inDays(0),
      }),
      (error: Error) =>
        isFailureOf(error, 'PatientNotFound') &&
        /^patient: no such patient in this clinic$/.test(error.message),
    );
    const stranger = await createPatient(database.db, { phone: '+14155550504' });
    await assert.rejects(
      handleEvent(deps, patient.clinicId, {
        type: 'visit.missed',
        patient: { id: stranger.patientId },
        anchorDate: inDays(0),
      }),
      /no such patient in this clinic/,
    );
    const [counts] = await database.owner.db.execute<{ enrollments: string; screenings: string }>(
      sql`select (select count(*) from enrollments where patient_id in (${patient.patientId}, ${stranger.patientId})) as enrollments,
                 (select count(*) from screening_records where patient_id = ${patient.patientId}) as screenings`,
    );
    assert.deepEqual([Number(counts?.enrollments), Number(counts?.screenings)], [0, 0]);
  });
});
