// Each built-in journey over its whole life, from its example under examples/<key>/, previewed as
// `carebell simulate` previews it (the same use case, one time-skipping server for every preview here; the
// command itself is tested in simulate-cli.test.ts): which message goes on which day of the journey, in the
// patient's zone, and how it ends. Days count from the day the preview starts, on the server's clock.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { DateTime } from 'luxon';
import { builtInJourneys } from '../../journeys/built-in';
import { eventFile, patientFile } from '../../journeys/sample-inputs';
import { previewJourney } from '../../usecases/journeys';
import { createSimulator, type SimulatedEntry, type Simulator } from '../../usecases/simulate';
import { retryServerStart, testServerPath } from '../support/harness';

let simulator: Simulator;
const readJson = async (file: string): Promise<unknown> => JSON.parse(await fs.readFile(file, 'utf8'));

async function simulate(journey: string, patientJson: string, event: string | object) {
  const definition = builtInJourneys().find((candidate) => candidate.key === journey)!;
  const patient = patientFile.parse(await readJson(patientJson));
  const { startedAt, timeline } = await previewJourney(
    {
      definition,
      patient,
      event: eventFile.parse(typeof event === 'string' ? await readJson(event) : event),
    },
    simulator,
  );
  const start = DateTime.fromMillis(startedAt, { zone: patient.timeZone }).startOf('day');
  /** `step@day` for each message sent, the day counted from the start in the patient's zone. */
  const sent = timeline
    .filter((entry) => entry.outcome === 'sent')
    .map((entry) => {
      const local = DateTime.fromISO(entry.localTime, { setZone: true });
      return `${entry.step}@${Math.round(local.startOf('day').diff(start.setZone(local.zone, { keepLocalTime: true }), 'days').days)}`;
    });
  return { timeline, sent, end: timeline.at(-1)! };
}

const at10 = (timeline: SimulatedEntry[], steps: string[]) => {
  for (const entry of timeline.filter(
    (candidate) => steps.includes(candidate.step) && candidate.outcome === 'sent',
  ))
    assert.match(entry.localTime, /T10:00:00/, `${entry.step} at 10:00 in the patient's zone`);
};

describe('the examples of every built-in journey, previewed as carebell simulate does', () => {
  before(async () => {
    simulator = await retryServerStart(() => createSimulator(testServerPath()));
  });
  after(async () => {
    await simulator.close();
  });

  it('refill: 7 days before a 30-day supply ends, on the day, 3 days after; "call your pharmacy"', async () => {
    const { timeline, sent, end } = await simulate(
      'refill',
      'examples/refill/patient.json',
      'examples/refill/event.json',
    );
    assert.deepEqual(sent, ['refill-soon@23', 'refill-today@30', 'refill-overdue@33']);
    at10(timeline, ['refill-soon', 'refill-today', 'refill-overdue']);
    assert.equal(end.reason, 'not-refilled');
  });

  it('refill: 14 days before a 90-day supply ends, and "contact us to renew" when no refills remain', async () => {
    const { sent } = await simulate(
      'refill',
      'examples/refill/patient.json',
      'examples/refill/event-no-refills-90-days.json',
    );
    assert.deepEqual(sent, ['renew-soon@76', 'renew-today@90', 'renew-overdue@93']);
  });

  it('refill: a discontinued medication ends the journey; as-needed and short courses start none', async () => {
    const { sent, end } = await simulate('refill', 'examples/refill/patient.json', {
      type: 'medication.dispensed',
      anchorInDays: 30,
      facts: { daysSupply: '30', refillsRemaining: '1' },
      then: [{ after: 'P10D', event: 'medication.discontinued' }],
    });
    assert.deepEqual(sent, []);
    assert.deepEqual([end.outcome, end.reason], ['ended', 'discontinued']);
    for (const facts of [
      { daysSupply: '30', refillsRemaining: '1', asNeeded: 'true' },
      { daysSupply: '7', refillsRemaining: '0' },
    ]) {
      await assert.rejects(
        simulate('refill', 'examples/refill/patient.json', {
          type: 'medication.dispensed',
          anchorInDays: 7,
          facts,
        }),
        /does not start for this event: its trigger.unless holds/,
      );
    }
  });

  it('appointment reminders: 3 days and 1 day before, in Spanish; a cancellation ends them', async () => {
    const { timeline, sent, end } = await simulate(
      'appointment-reminder',
      'examples/appointment-reminder/patient.json',
      'examples/appointment-reminder/event.json',
    );
    assert.deepEqual(sent, ['first-reminder@7', 'last-reminder@9']);
    at10(timeline, ['first-reminder', 'last-reminder']);
    assert.ok(timeline.filter((entry) => entry.outcome === 'sent').every((entry) => entry.language === 'es'));
    assert.equal(end.reason, 'reminded');
    const cancelled = await simulate('appointment-reminder', 'examples/appointment-reminder/patient.json', {
      type: 'appointment.booked',
      anchorInDays: 10,
      facts: { appointmentTime: '09:30' },
      then: [{ after: 'P8D', event: 'appointment.cancelled' }],
    });
    assert.deepEqual(cancelled.sent, ['first-reminder@7']);
    assert.deepEqual([cancelled.end.outcome, cancelled.end.reason], ['ended', 'cancelled']);
  });

  it('open enrollment: when it opens, a week before the 1 January deadline, and days before it closes', async () => {
    const { timeline, sent } = await simulate(
      'insurance-reenrollment',
      'examples/insurance-reenrollment/patient.json',
      'examples/insurance-reenrollment/event.json',
    );
    assert.deepEqual(sent, ['open@1', 'january-coverage@38', 'last-days@73']);
    at10(timeline, ['open', 'january-coverage', 'last-days']);
  });

  it('Medicaid renewal: a month and a week before the form is due, then once in the reconsideration period', async () => {
    const { sent, end } = await simulate(
      'medicaid-renewal',
      'examples/medicaid-renewal/patient.json',
      'examples/medicaid-renewal/event.json',
    );
    assert.deepEqual(sent, ['renewal-due@15', 'renewal-soon@38', 'reconsideration@119']);
    assert.equal(end.reason, 'reconsideration-sent');
  });

  it('re-engagement: a missed visit and a lapsed patient get their own words; a booking ends it', async () => {
    const missed = await simulate('re-engagement', 'examples/re-engagement/patient.json', {
      type: 'visit.missed',
      anchorInDays: 0,
      then: [{ after: 'P20D', event: 'appointment.booked' }],
    });
    assert.deepEqual(
      missed.sent.map((entry) => entry.split('@')[0]),
      ['first-nudge', 'second-nudge'],
    );
    assert.equal(missed.end.outcome, 'goal');
    const lapsed = await simulate(
      're-engagement',
      'examples/re-engagement/patient.json',
      'examples/re-engagement/event-lapsed.json',
    );
    assert.deepEqual(
      lapsed.sent.map((entry) => entry.split('@')[0]),
      ['lapsed-nudge', 'lapsed-second-nudge'],
    );
  });

  it('screening: "coming due" two weeks ahead, "overdue" for a recall, a follow-up three weeks on', async () => {
    const due = await simulate(
      'screening',
      'examples/screening/patient.json',
      'examples/screening/event.json',
    );
    assert.deepEqual(due.sent, ['screening-due@31']);
    assert.equal(due.end.outcome, 'goal');
    const overdue = await simulate(
      'screening',
      'examples/screening/patient.json',
      'examples/screening/event-overdue.json',
    );
    assert.deepEqual(
      overdue.sent.map((entry) => entry.split('@')[0]),
      ['screening-overdue', 'screening-follow-up'],
    );
  });
});
