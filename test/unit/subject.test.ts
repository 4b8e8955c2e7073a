import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normaliseSubject } from '../../domain/subject';

describe('subjects', () => {
  it('are one subject whatever the case, spacing or Unicode form', () => {
    const forms = ['mammogram', 'Mammogram', ' MAMMOGRAM ', 'mammogram\t', 'ｍａｍｍｏｇｒａｍ'];
    assert.deepEqual(new Set(forms.map(normaliseSubject)), new Set(['mammogram']));
    assert.equal(normaliseSubject('Rx  553\n'), 'rx 553');
    assert.notEqual(normaliseSubject('rx-553'), normaliseSubject('rx-554'));
  });
});
