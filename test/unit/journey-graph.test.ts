// Loops and giants at publish: a journey that could go around without time passing (a branch back to
// itself, a send -> branch -> send loop) or that would not fit in an enrollment's workflow input is
// refused, with the step named. Random step graphs check the loop rule against a plain walk.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_JOURNEY_BYTES, validateJourney } from '../../journeys/schema';

const base = {
  key: 'loops',
  version: 1,
  name: 'Loops',
  category: 'transactional',
  trigger: { event: 'visit.missed' },
  anchor: 'lastVisitDate',
  goal: { event: 'visit.booked' },
};
const errorsOf = (steps: unknown[], extra: object = {}) => {
  const result = validateJourney({ ...base, ...extra, steps });
  return result.ok ? [] : result.errors;
};

describe('journey loops and size', () => {
  it('refuses a branch that points at itself, naming the step', () => {
    const errors = errorsOf([
      { id: 'nudge', type: 'send', template: 'reengage-first' },
      {
        id: 'spin',
        type: 'branch',
        condition: { kind: 'attribute', attribute: 'language', equals: 'es' },
        then: 'spin',
        else: 'spin',
      },
    ]);
    assert.deepEqual(errors, [
      'step "spin" (steps[1]): loops back without waiting ("spin" -> "spin"): put a "wait" with "for" or a "waitForEvent" in the loop',
    ]);
  });

  it('refuses a send -> branch -> send loop with no wait in it', () => {
    const errors = errorsOf([
      { id: 'settle', type: 'wait', for: 'P1D' },
      { id: 'nudge', type: 'send', template: 'reengage-first' },
      {
        id: 'again',
        type: 'branch',
        condition: { kind: 'delivered', step: 'nudge' },
        then: 'nudge',
        else: 'done',
      },
      { id: 'done', type: 'exit' },
    ]);
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(
      errors[0]!,
      /^step "nudge" \(steps\[1\]\): loops back without waiting \("nudge" -> "again" -> "nudge"\)/,
    );
  });

  it('refuses a loop whose only wait is until a date (passed after the first time round)', () => {
    const errors = errorsOf([
      { id: 'due', type: 'wait', until: { offset: '-P3D' } },
      { id: 'nudge', type: 'send', template: 'reengage-first' },
      {
        id: 'again',
        type: 'branch',
        condition: { kind: 'attribute', attribute: 'language', equals: 'es' },
        then: 'done',
        else: 'due',
      },
      { id: 'done', type: 'exit' },
    ]);
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /^step "due" \(steps\[0\]\): loops back without waiting/);
  });

  it('accepts a loop that waits on every way around it', () => {
    const steps = [
      { id: 'nudge', type: 'send', template: 'reengage-first' },
      { id: 'listen', type: 'waitForEvent', event: 'visit.booked', timeout: 'P7D', onTimeout: 'rest' },
      { id: 'done', type: 'exit' },
      { id: 'rest', type: 'wait', for: 'P7D' },
      {
        id: 'again',
        type: 'branch',
        condition: { kind: 'attribute', attribute: 'language', equals: 'es' },
        then: 'done',
        else: 'nudge',
      },
    ];
    assert.deepEqual(errorsOf(steps), []);
  });

  it('refuses more steps than the cap, and a definition larger than an enrollment can carry', () => {
    const many = Array.from({ length: 101 }, (_, index) => ({
      id: `s${index}`,
      type: 'wait',
      for: 'P1D',
    }));
    assert.deepEqual(errorsOf(many), ['steps: a journey has at most 100 steps']);

    const giant = errorsOf([{ id: 'done', type: 'exit' }], { name: 'x'.repeat(2 * 1024 * 1024) });
    assert.equal(giant.length, 1);
    assert.match(
      giant[0]!,
      new RegExp(`^\\(definition\\): \\d+ bytes; a journey definition has at most ${MAX_JOURNEY_BYTES}`),
    );
  });

  it('accepts a random step graph exactly when no way round a loop skips every wait', () => {
    fc.assert(
      fc.property(stepGraph(), (steps) => {
        const result = validateJourney({ ...base, steps });
        const loops = result.ok ? [] : result.errors.filter((error) => error.includes('loops back'));
        assert.deepEqual(
          result.ok ? [] : result.errors.filter((error) => !error.includes('loops back')),
          [],
          'only loop errors are expected from these graphs',
        );
        assert.equal(loops.length > 0, canRunForeverWithoutWaiting(steps), JSON.stringify(steps));
      }),
      { numRuns: 500 },
    );
  });
});

type Step = Record<string, unknown> & { id: string; type: string };

/** 1 to 8 steps of every kind, whose jumps point at random steps (itself included). */
function stepGraph(): fc.Arbitrary<Step[]> {
  return fc.integer({ min: 1, max: 8 }).chain((count) => {
    const target = fc.integer({ min: 0, max: count - 1 }).map((index) => `s${index}`);
    const maybeTarget = fc.option(target, { nil: undefined });
    const step = fc.oneof(
      fc.constant({ type: 'wait', for: 'P1D' }),
      fc.constant({ type: 'wait', until: { offset: '-P1D' } }),
      fc.constant({ type: 'send', template: 'reengage-first' }),
      fc.record({ onEvent: maybeTarget, onTimeout: maybeTarget }, { requiredKeys: [] }).map((jumps) => ({
        type: 'waitForEvent',
        event: 'visit.booked',
        timeout: 'P1D',
        ...definedOnly(jumps),
      })),
      fc.record({ then: target, else: target }).map((jumps) => ({
        type: 'branch',
        condition: { kind: 'attribute', attribute: 'language', equals: 'es' },
        ...jumps,
      })),
      fc.constant({ type: 'exit' }),
    );
    return fc
      .array(step, { minLength: count, maxLength: count })
      .map((steps) => steps.map((fields, index) => ({ id: `s${index}`, ...fields })));
  });
}

const definedOnly = (fields: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));

/**
 * The oracle, written from the interpreter's rules rather than from the validator: is there a walk of more
 * steps than the journey has, none of which makes time pass? (Longer than the journey means a repeat.)
 */
function canRunForeverWithoutWaiting(steps: Step[]): boolean {
  const indexOf = (id: unknown, fallback: number) =>
    id === undefined ? fallback : steps.findIndex((step) => step.id === id);
  const next = (index: number): number[] => {
    const step = steps[index]!;
    if (step.type === 'exit') return [];
    if (step.type === 'branch') return [indexOf(step.then, -1), indexOf(step.else, -1)];
    if (step.type === 'waitForEvent')
      return [indexOf(step.onEvent, index + 1), indexOf(step.onTimeout, index + 1)];
    return [index + 1];
  };
  const timePasses = (step: Step) => step.type === 'waitForEvent' || (step.type === 'wait' && 'for' in step);
  // walks[i]: a walk of `length` steps without waiting starts at step i.
  let walks = steps.map((step) => !timePasses(step));
  for (let length = 2; length <= steps.length + 1; length++) {
    walks = steps.map(
      (step, index) =>
        !timePasses(step) &&
        next(index).some((target) => target >= 0 && target < steps.length && walks[target]),
    );
  }
  return walks.some(Boolean);
}
