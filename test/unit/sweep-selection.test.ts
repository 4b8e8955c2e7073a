import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyCareEvent, isLapsed, type CareFacts } from '../../journeys/care';
import { clinicSettings, settingsOf } from '../../journeys/clinic-settings';
import { openEnrollmentPeriod, selectForSweep, sweepByKey, type SweepPatient } from '../../journeys/sweeps';

const patient = (care: CareFacts, extra: Partial<SweepPatient> = {}): SweepPatient => ({
  dateOfBirth: '1980-06-01',
  sexAtBirth: 'male',
  screenings: [],
  marketingOptIn: true,
  care,
  ...extra,
});

describe('sweep selection', () => {
  const federal = settingsOf({});

  it("finds the clinic's open-enrollment period: the federal dates by default, a state's own when set", () => {
    assert.equal(openEnrollmentPeriod(federal, '2026-10-31'), undefined);
    const federalPeriod = {
      opensOn: '2026-11-01',
      januaryDeadline: '2026-12-15',
      deadline: '2027-01-15',
    };
    assert.deepEqual(openEnrollmentPeriod(federal, '2026-11-01'), federalPeriod);
    assert.deepEqual(openEnrollmentPeriod(federal, '2027-01-15'), federalPeriod);
    assert.equal(openEnrollmentPeriod(federal, '2027-01-16'), undefined);
    const california = settingsOf({
      openEnrollment: { opensOn: '11-01', januaryDeadline: '12-31', closesOn: '01-31' },
    });
    assert.deepEqual(openEnrollmentPeriod(california, '2027-01-20'), {
      opensOn: '2026-11-01',
      januaryDeadline: '2026-12-31',
      deadline: '2027-01-31',
    });
    assert.equal(clinicSettings.safeParse({ openEnrollment: { opensOn: '13-01' } }).success, false);
  });

  it('enrolls only patients covered through the exchange, who opted in, while enrollment is open', () => {
    const sweep = sweepByKey('open-enrollment');
    const exchange = patient({ coverage: { plan: 'exchange' } });
    assert.deepEqual(selectForSweep(sweep, exchange, '2026-11-01', federal), [
      {
        occurrence: 'open-enrollment|2027-01-15',
        anchorDate: '2027-01-15',
        facts: { opensOn: '2026-11-01', januaryDeadline: '2026-12-15', deadline: '2027-01-15' },
      },
    ]);
    for (const plan of ['medicare', 'employer', 'medicaid', 'none'] as const)
      assert.deepEqual(
        selectForSweep(sweep, patient({ coverage: { plan } }), '2026-11-01', federal),
        [],
        plan,
      );
    assert.deepEqual(selectForSweep(sweep, patient({}), '2026-11-01', federal), [], 'coverage unknown');
    assert.deepEqual(
      selectForSweep(sweep, { ...exchange, marketingOptIn: false }, '2026-11-01', federal),
      [],
    );
    assert.deepEqual(selectForSweep(sweep, exchange, '2026-06-01', federal), [], 'outside the period');
  });

  it('counts a Medicaid renewal back from the date the form is due, until the reconsideration period ends', () => {
    const sweep = sweepByKey('medicaid-renewal');
    const medicaid = patient({ coverage: { plan: 'medicaid', endsOn: '2027-03-31' } });
    // Due 60 days before the end (30 January), selected from 45 days before that (16 December).
    assert.deepEqual(selectForSweep(sweep, medicaid, '2026-12-15', federal), []);
    const [pick] = selectForSweep(sweep, medicaid, '2026-12-16', federal);
    assert.deepEqual(pick, {
      occurrence: 'medicaid-renewal|2027-03-31',
      anchorDate: '2027-01-30',
      facts: { renewalDueOn: '2027-01-30', coverageEndsOn: '2027-03-31', reconsiderBy: '2027-06-29' },
    });
    const given = patient({
      coverage: { plan: 'medicaid', endsOn: '2027-03-31', renewalDueOn: '2027-02-15' },
    });
    assert.equal(selectForSweep(sweep, given, '2027-01-01', federal)[0]?.anchorDate, '2027-02-15');
    assert.deepEqual(selectForSweep(sweep, medicaid, '2027-06-30', federal), [], 'reconsideration over');
  });

  it('finds lapsed patients: no visit for the clinic period and nothing booked; unknown visits never count', () => {
    const sweep = sweepByKey('lapsed-patients');
    const lapsed = { lastVisitOn: '2025-11-01' };
    assert.equal(isLapsed(lapsed, '2026-11-01', 12), true);
    assert.equal(isLapsed(lapsed, '2026-10-31', 12), false);
    assert.equal(isLapsed({}, '2026-11-01', 12), false);
    const booked = applyCareEvent(lapsed, {
      type: 'appointment.booked',
      subject: 'appointment-hash',
      anchorDate: '2026-12-01',
    });
    assert.equal(isLapsed(booked, '2026-11-01', 12), false, 'an appointment is booked');
    assert.equal(isLapsed(booked, '2026-12-02', 12), true, 'the booked day has passed without a visit');
    const cancelled = applyCareEvent(booked, { type: 'appointment.cancelled', subject: 'appointment-hash' });
    assert.equal(isLapsed(cancelled, '2026-11-01', 12), true);
    const visited = applyCareEvent(booked, {
      type: 'visit.completed',
      subject: 'appointment-hash',
      occurredOn: '2026-11-20',
    });
    assert.deepEqual(visited, { lastVisitOn: '2026-11-20', appointments: {} });
    assert.equal(isLapsed(lapsed, '2026-11-01', 18), false, "the clinic's own period");

    assert.deepEqual(selectForSweep(sweep, patient(lapsed), '2026-11-02', federal), [
      { occurrence: 'lapsed-patients|2025-11-01|0', anchorDate: '2025-11-01', facts: { lapsed: 'true' } },
    ]);
    assert.equal(
      selectForSweep(sweep, patient(lapsed), '2027-11-02', federal)[0]?.occurrence,
      'lapsed-patients|2025-11-01|1',
      'recalled again a year later while still lapsed',
    );
  });

  it('marks an overdue screening as overdue, so the message says so', () => {
    const sweep = sweepByKey('screening-check');
    const [overdue] = selectForSweep(sweep, patient({}, { dateOfBirth: '1970-01-01' }), '2026-11-28');
    assert.equal(overdue?.subject, 'colorectal');
    assert.deepEqual(overdue?.facts, { overdue: 'true' });
    const [due] = selectForSweep(sweep, patient({}, { dateOfBirth: '1981-12-01' }), '2026-11-28');
    assert.equal(due?.anchorDate, '2026-12-01');
    assert.equal(due?.facts, undefined);
  });
});
