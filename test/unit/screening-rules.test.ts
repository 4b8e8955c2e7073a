import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultScreeningRules, screeningRule, screeningsDue } from '../../journeys/screening';

describe('screening rules', () => {
  it('ships mammogram, colorectal and cervical rules as valid data', () => {
    assert.deepEqual(
      defaultScreeningRules().map((rule) => rule.test),
      ['mammogram', 'colorectal', 'cervical'],
    );
  });

  it('dues a 50-year-old woman by her last screenings and the intervals', () => {
    const due = screeningsDue(
      {
        dateOfBirth: '1976-05-02',
        sexAtBirth: 'female',
        lastScreenings: { mammogram: '2025-01-10', cervical: '2020-03-01' },
      },
      '2026-11-27',
    );
    assert.deepEqual(due, [
      { test: 'mammogram', dueDate: '2027-01-10', overdue: false },
      // Never screened: due since her 45th birthday.
      { test: 'colorectal', dueDate: '2021-05-02', overdue: true },
      { test: 'cervical', dueDate: '2023-03-01', overdue: true },
    ]);
  });

  it('leaves out tests for the other sex, for the too young and for the too old', () => {
    assert.deepEqual(
      screeningsDue(
        { dateOfBirth: '1970-01-01', sexAtBirth: 'male', lastScreenings: { colorectal: '2020-01-01' } },
        '2026-11-27',
      ),
      [{ test: 'colorectal', dueDate: '2030-01-01', overdue: false }],
    );
    // Too young: due when the rule starts, not before.
    assert.deepEqual(screeningsDue({ dateOfBirth: '2010-01-01', sexAtBirth: 'female' }, '2026-11-27'), [
      { test: 'mammogram', dueDate: '2050-01-01', overdue: false },
      { test: 'colorectal', dueDate: '2055-01-01', overdue: false },
      { test: 'cervical', dueDate: '2031-01-01', overdue: false },
    ]);
    // Too old for all three.
    assert.deepEqual(screeningsDue({ dateOfBirth: '1940-01-01', sexAtBirth: 'female' }, '2026-11-27'), []);
  });

  it('rejects a rule whose ages are reversed', () => {
    assert.equal(
      screeningRule.safeParse({ test: 'x', sexAtBirth: 'any', fromAge: 50, toAge: 40, intervalMonths: 12 })
        .success,
      false,
    );
  });
});
