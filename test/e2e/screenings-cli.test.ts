import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCarebell, tempDir } from '../support/harness';

describe('carebell screenings due', () => {
  it('lists what a patient file is due for, by the rules the daily sweep uses', async () => {
    const result = await runCarebell([
      'screenings',
      'due',
      '--patient',
      'examples/screening/screenings-patient.json',
      '--on',
      '2026-11-27',
      '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), [
      // Declined in March: held for a year.
      { program: 'breast', lastMethod: null, dueDate: '2027-03-01', overdue: false, recallFrom: null },
      // A FIT (by its CPT code) in September 2025: due again a year later, so overdue now.
      {
        program: 'colorectal',
        lastMethod: 'fit',
        dueDate: '2026-09-02',
        overdue: true,
        recallFrom: '2026-09-02',
      },
      {
        program: 'cervical',
        lastMethod: 'cytology',
        dueDate: '2026-02-14',
        overdue: true,
        recallFrom: '2026-02-14',
      },
    ]);
  });

  it('refuses a bad patient file naming the field, with exit code 2', async () => {
    const file = path.join(await tempDir('screenings'), 'patient.json');
    await fs.writeFile(file, JSON.stringify({ dateOfBirth: '1972-13-45', screenings: [{ test: 'fit' }] }));
    const result = await runCarebell(['screenings', 'due', '--patient', file]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /dateOfBirth: /);
    assert.match(result.stderr, /screenings\.0\.date: /);
  });
});
