// The screening rules against cases drawn from the USPSTF recommendations: colorectal 45-75 by method,
// cervical 21-65 (cytology every 3 years; from 30 also primary HPV or co-testing every 5), breast 40-74
// every 2 years; ages at the edges, each method, each exclusion, declines, care elsewhere, and overdue.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normaliseSexAtBirth } from '../../domain/patient';
import {
  classifyScreening,
  defaultScreeningRules,
  screeningsDue,
  type ScreeningPatient,
} from '../../journeys/screening';

const today = '2026-11-27';
const due = (patient: ScreeningPatient, on = today) =>
  Object.fromEntries(
    screeningsDue(patient, on).map((entry) => [
      entry.program,
      [entry.dueDate, entry.overdue, entry.lastMethod],
    ]),
  );

describe('screening rules by test method (USPSTF)', () => {
  it('ships breast, colorectal and cervical programs as valid data', () => {
    assert.deepEqual(
      defaultScreeningRules().programs.map((program) => program.program),
      ['breast', 'colorectal', 'cervical'],
    );
  });

  it('counts colorectal screening from the method last used', () => {
    const man = (test: string, date: string): ScreeningPatient => ({
      dateOfBirth: '1970-01-01',
      sexAtBirth: 'M',
      screenings: [{ test, date }],
    });
    const cases: [string, string, string][] = [
      ['colonoscopy', '2020-05-01', '2030-05-01'],
      ['FIT', '2026-03-01', '2027-03-01'],
      ['82274', '2026-03-01', '2027-03-01'],
      ['Cologuard', '2024-01-15', '2027-01-15'],
      ['CT colonography', '2022-06-01', '2027-06-01'],
      ['45330', '2022-06-01', '2027-06-01'],
      ['45378', '2018-02-01', '2028-02-01'],
    ];
    for (const [test, date, expected] of cases) {
      assert.deepEqual(due(man(test, date)).colorectal?.[0], expected, `${test} on ${date}`);
    }
    // A FIT last year means due now, not in ten years.
    assert.deepEqual(due(man('fit', '2025-10-01')).colorectal, ['2026-10-01', true, 'fit']);
  });

  it('starts colorectal at 45 and stops after 75', () => {
    assert.deepEqual(due({ dateOfBirth: '1982-01-10' }).colorectal, ['2027-01-10', false, null], 'turns 45');
    assert.deepEqual(due({ dateOfBirth: '1981-06-01' }).colorectal?.[1], true, '45, never screened');
    assert.equal(due({ dateOfBirth: '1951-01-01' }).colorectal?.[0], '1996-01-01', '75 still in range');
    assert.equal(due({ dateOfBirth: '1950-01-01' }).colorectal, undefined, '76 is past it');
  });

  it('uses 3 years for cytology, 5 for primary HPV or co-testing from 30, and 3 for HPV before 30', () => {
    const woman = (born: string, test: string, date: string): ScreeningPatient => ({
      dateOfBirth: born,
      sexAtBirth: 'F',
      screenings: [{ test, date }],
    });
    assert.deepEqual(due(woman('2000-01-01', 'Pap smear', '2024-03-01')).cervical, [
      '2027-03-01',
      false,
      'cytology',
    ]);
    assert.equal(due(woman('1990-01-01', 'HPV test', '2023-01-01')).cervical?.[0], '2028-01-01');
    assert.equal(due(woman('1980-01-01', 'co-test', '2024-05-01')).cervical?.[0], '2029-05-01');
    // An HPV test at 27 is not the guideline's: counted like cytology, 3 years, not 2 years too late.
    assert.equal(due(woman('1999-01-01', 'hpv', '2026-02-01')).cervical?.[0], '2029-02-01');
    assert.equal(
      due({ dateOfBirth: '2006-05-01', sexAtBirth: 'female' }).cervical?.[0],
      '2027-05-01',
      'at 21',
    );
    assert.equal(due({ dateOfBirth: '1960-01-01', sexAtBirth: 'female' }).cervical, undefined, 'past 65');
  });

  it('screens breasts every 2 years from 40 to 74', () => {
    assert.deepEqual(
      due({
        dateOfBirth: '1976-05-02',
        sexAtBirth: 'Female',
        screenings: [{ test: '77067', date: '2025-01-10' }],
      }).breast,
      ['2027-01-10', false, 'mammogram'],
    );
    assert.equal(due({ dateOfBirth: '1987-03-01', sexAtBirth: 'f' }).breast?.[0], '2027-03-01', 'turns 40');
    assert.equal(due({ dateOfBirth: '1951-01-01', sexAtBirth: 'f' }).breast, undefined, '75 is past it');
    assert.equal(due({ dateOfBirth: '1976-05-02', sexAtBirth: 'M' }).breast, undefined);
  });

  it('honours exclusions: cervix removed, both breasts, the colon, hospice', () => {
    const base: ScreeningPatient = { dateOfBirth: '1970-01-01', sexAtBirth: 'F' };
    const after = (test: string) => due({ ...base, exclusions: [{ test, date: '2020-01-01' }] });
    assert.deepEqual(Object.keys(after('58150')), ['breast', 'colorectal'], 'total hysterectomy');
    assert.deepEqual(Object.keys(after('Z90.712')), ['breast', 'colorectal'], 'cervix removed');
    assert.deepEqual(Object.keys(after('supracervical hysterectomy')), ['breast', 'colorectal', 'cervical']);
    assert.deepEqual(Object.keys(after('bilateral mastectomy')), ['colorectal', 'cervical']);
    assert.deepEqual(Object.keys(after('44150')), ['breast', 'cervical'], 'total colectomy');
    assert.deepEqual(after('hospice'), {});
    // An exclusion dated in the future does not count yet.
    assert.equal(
      Object.keys(due({ ...base, exclusions: [{ test: 'hospice', date: '2027-01-01' }] })).length,
      3,
    );
  });

  it('respects a decline for a year, and counts a screening done elsewhere', () => {
    const patient: ScreeningPatient = {
      dateOfBirth: '1970-01-01',
      sexAtBirth: 'F',
      screenings: [
        { test: 'mammogram', date: '2026-06-01', status: 'declined' },
        { test: 'colonoscopy', date: '2019-04-01', status: 'elsewhere' },
      ],
    };
    assert.deepEqual(due(patient).breast, ['2027-06-01', false, null]);
    assert.deepEqual(due(patient).colorectal, ['2029-04-01', false, 'colonoscopy']);
  });

  it('recalls an overdue patient once in each recall period', () => {
    const [entry] = screeningsDue({ dateOfBirth: '1976-05-02', sexAtBirth: 'M' }, today);
    assert.deepEqual(entry, {
      program: 'colorectal',
      lastMethod: null,
      dueDate: '2021-05-02',
      overdue: true,
      recallFrom: '2026-05-02',
    });
    const later = screeningsDue({ dateOfBirth: '1976-05-02', sexAtBirth: 'M' }, '2027-06-01')[0];
    assert.equal(later?.recallFrom, '2027-05-02', 'a new period, a new recall');
  });

  it('maps codes and names to the method they report', () => {
    assert.deepEqual(classifyScreening('45378'), { program: 'colorectal', method: 'colonoscopy' });
    assert.deepEqual(classifyScreening('  Pap  Smear '), { program: 'cervical', method: 'cytology' });
    assert.deepEqual(classifyScreening('77067'), { program: 'breast', method: 'mammogram' });
    assert.deepEqual(classifyScreening('87624'), { program: 'cervical', method: 'hpv' });
    assert.deepEqual(classifyScreening('colorectal'), { program: 'colorectal', method: 'colonoscopy' });
    assert.equal(classifyScreening('chest x-ray'), undefined);
  });

  it('normalises sex at birth to a small enum', () => {
    assert.deepEqual(['F', 'Female', ' female ', 'M', 'male', 'U', 'unknown', 'x'].map(normaliseSexAtBirth), [
      'female',
      'female',
      'female',
      'male',
      'male',
      'unknown',
      'unknown',
      undefined,
    ]);
  });
});
