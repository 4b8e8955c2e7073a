// The opening wait an enrollment plans before its journey starts: reached through branches on facts
// only, as the interpreter would decide them, and never through a step that takes time or asks anything.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openingWait, waitAnchorDate } from '../../domain/journey';
import { builtInJourneys } from '../../journeys/built-in';
import type { JourneyDefinition } from '../../journeys/schema';

const journey = (key: string) => builtInJourneys().find((known) => known.key === key)!;
const opening = (definition: JourneyDefinition, facts: Record<string, string>) => {
  const found = openingWait(definition, facts);
  return found && { step: found.step.id, beforeSend: found.beforeSend };
};

describe('the opening wait', () => {
  it('follows branches on facts to the first wait, and knows whether a send comes next', () => {
    const refill = journey('refill');
    assert.deepEqual(opening(refill, { daysSupply: '30', refillsRemaining: '2' }), {
      step: 'week-before',
      beforeSend: false,
    });
    assert.deepEqual(opening(refill, { daysSupply: '90', refillsRemaining: '2' }), {
      step: 'two-weeks-before',
      beforeSend: false,
    });
    assert.deepEqual(opening(journey('appointment-reminder'), { appointmentTime: '09:30' }), {
      step: 'days-before',
      beforeSend: true,
    });
    assert.deepEqual(opening(journey('re-engagement'), { lapsed: 'false' }), {
      step: 'settle',
      beforeSend: true,
    });
  });

  it('finds none behind a send, an attribute branch, or branches on facts that loop', () => {
    const base = journey('appointment-reminder');
    const sendFirst = { ...base, steps: [base.steps[1]!, ...base.steps] };
    assert.equal(openingWait(sendFirst, {}), undefined);
    assert.equal(openingWait(journey('re-engagement'), { lapsed: 'true' }), undefined);
    const attribute = {
      ...base,
      steps: [
        {
          id: 'ask',
          type: 'branch' as const,
          condition: { kind: 'attribute' as const, attribute: 'language' as const, equals: 'es' },
          then: 'days-before',
          else: 'days-before',
        },
        ...base.steps,
      ],
    };
    assert.equal(openingWait(attribute, {}), undefined);
    const loop = {
      ...base,
      steps: [
        {
          id: 'spin',
          type: 'branch' as const,
          condition: { kind: 'fact' as const, fact: 'x', equals: '1' },
          then: 'spin',
          else: 'spin',
        },
        ...base.steps,
      ],
    };
    assert.equal(openingWait(loop, {}), undefined);
  });

  it('counts a wait from the date fact it names, else from the anchor', () => {
    const until = { offset: 'P0D', from: 'opensOn' };
    assert.equal(waitAnchorDate(until, { opensOn: '2027-11-01' }, '2027-01-31'), '2027-11-01');
    assert.equal(waitAnchorDate(until, {}, '2027-01-31'), '2027-01-31');
    assert.equal(waitAnchorDate({ offset: '-P3D' }, { opensOn: '2027-11-01' }, '2027-01-31'), '2027-01-31');
  });
});
