import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { builtInJourneys, builtInJourneyVersion, templatesOf } from '../../journeys/built-in';
import { factConditionHolds } from '../../domain/facts';
import { factsProblem } from '../../journeys/facts';
import { journeyJsonSchema, validateJourney } from '../../journeys/schema';
import { supportedLanguages } from '../../locales';

describe('journey definitions', () => {
  it('ships six valid built-in journeys, and keeps the versions enrollments may be pinned to', () => {
    assert.deepEqual(
      builtInJourneys().map((journey) => journey.key),
      [
        'appointment-reminder',
        'insurance-reenrollment',
        'medicaid-renewal',
        're-engagement',
        'refill',
        'screening',
      ],
    );
    for (const key of ['refill', 're-engagement', 'insurance-reenrollment', 'screening'])
      assert.equal(builtInJourneyVersion(key, 1)?.version, 1, key);
  });

  it('has every template of every built-in journey in every language', () => {
    for (const journey of builtInJourneys()) {
      for (const template of templatesOf(journey)) {
        for (const language of supportedLanguages()) {
          const file = new URL(`../../locales/${language}/${template}.json`, import.meta.url);
          assert.ok(fs.existsSync(file), `${language}/${template}.json for ${journey.key}`);
          const messages = JSON.parse(fs.readFileSync(file, 'utf8')) as {
            sms?: string;
            email?: { subject?: string; text?: string };
          };
          assert.ok(
            messages.sms && messages.email?.subject && messages.email.text,
            `${language}/${template}.json is complete`,
          );
          assert.match(messages.sms, /\{\{link\}\}/, 'SMS links to the secure pickup page');
        }
      }
    }
  });

  it('names the step and the field of every error', () => {
    const refill = JSON.parse(
      JSON.stringify(builtInJourneys().find((journey) => journey.key === 'refill')),
    ) as {
      steps: Record<string, unknown>[];
    };
    refill.steps[1] = {
      id: 'before-supply-ends',
      type: 'wait',
      until: { offset: 'three days', at: '25:00' },
    };
    refill.steps[2] = { ...refill.steps[2], next: 'nowhere' };
    refill.steps.push({ id: 'refill-soon', type: 'send', template: 'x' });
    const result = validateJourney(refill);
    assert.equal(result.ok, false);
    const errors = result.ok ? [] : result.errors;
    assert.ok(
      errors.includes(
        'step "before-supply-ends" (steps[1]).until.offset: expected a signed ISO-8601 duration such as -P3D, P0D or P1D',
      ),
      errors.join('\n'),
    );
    assert.ok(
      errors.includes('step "before-supply-ends" (steps[1]).until.at: expected a local time HH:MM'),
      errors.join('\n'),
    );
    assert.ok(
      errors.includes('step "week-before" (steps[2]).next: refers to unknown step "nowhere"'),
      errors.join('\n'),
    );
    assert.ok(
      errors.includes('step "refill-soon" (steps[15]).id: duplicate step id "refill-soon"'),
      errors.join('\n'),
    );
  });

  it('rejects unknown step types, fields and a wait with neither until nor for', () => {
    const base = {
      key: 'k',
      version: 1,
      name: 'n',
      category: 'transactional',
      trigger: { event: 'e.x' },
      anchor: 'lastVisitDate',
      goal: { event: 'g.x' },
    };
    const result = validateJourney({
      ...base,
      steps: [
        { id: 'a', type: 'teleport' },
        { id: 'b', type: 'wait' },
        { id: 'c', type: 'exit', colour: 'red' },
      ],
    });
    assert.equal(result.ok, false);
    const errors = result.ok ? '' : result.errors.join('\n');
    assert.match(errors, /step "a" \(steps\[0\]\)\.type: /);
    assert.match(
      errors,
      /step "b" \(steps\[1\]\)\.until: a wait step needs exactly one of "until" and "for"/,
    );
    assert.match(errors, /step "c" \(steps\[2\]\): unknown field "colour"/);
  });

  it('checks that fact conditions and dated waits name declared facts of the right type', () => {
    const result = validateJourney({
      key: 'k',
      version: 1,
      name: 'n',
      category: 'transactional',
      trigger: { event: 'e.x', unless: [{ kind: 'fact', fact: 'size', below: 3 }] },
      anchor: 'lastVisitDate',
      facts: { size: { type: 'text' }, due: { type: 'date' }, count: { type: 'integer' } },
      goal: { event: 'g.x' },
      steps: [
        { id: 'a', type: 'wait', until: { from: 'due', offset: 'P0D' } },
        {
          id: 'b',
          type: 'branch',
          condition: { kind: 'fact', fact: 'count', equals: '1' },
          then: 'c',
          else: 'c',
        },
        {
          id: 'c',
          type: 'branch',
          condition: { kind: 'fact', fact: 'nope', equals: 1 },
          then: 'd',
          else: 'd',
        },
        {
          id: 'd',
          type: 'branch',
          condition: { kind: 'fact', fact: 'count', atLeast: 1, below: 4 },
          then: 'e',
          else: 'e',
        },
        { id: 'e', type: 'exit' },
      ],
    });
    const errors = result.ok ? '' : result.errors.join('\n');
    assert.match(errors, /trigger\.unless\.0: compares "size" as a number, but it is declared text/);
    assert.match(
      errors,
      /step "a" \(steps\[0\]\)\.until\.from: counts from "due", which must be declared in "facts" as a required date/,
    );
    assert.match(
      errors,
      /step "b" \(steps\[1\]\)\.condition: "equals" must be a number: "count" is declared integer/,
    );
    assert.match(
      errors,
      /step "c" \(steps\[2\]\)\.condition: tests the fact "nope", which is not declared in "facts"/,
    );
    assert.match(errors, /step "d" \(steps\[3\]\)\.condition: a fact condition needs exactly one of/);
  });

  it("refuses an enrollment's facts that are missing or not of their declared type, naming never the value", () => {
    const refill = builtInJourneys().find((journey) => journey.key === 'refill')!;
    assert.equal(factsProblem(refill, { daysSupply: '30', refillsRemaining: '0' }), undefined);
    assert.equal(
      factsProblem(refill, { daysSupply: '30' }),
      'facts.refillsRemaining: refill needs it (a whole number)',
    );
    assert.equal(
      factsProblem(refill, { daysSupply: 'thirty', refillsRemaining: '1' }),
      'facts.daysSupply: must be a whole number',
    );
    assert.equal(
      factsProblem(refill, { daysSupply: '30', refillsRemaining: '1', asNeeded: 'yes' }),
      'facts.asNeeded: must be true or false',
    );
    const tests = [
      { kind: 'fact', fact: 'daysSupply', atLeast: 84 },
      { kind: 'fact', fact: 'asNeeded', equals: true },
      { kind: 'fact', fact: 'refillsRemaining', equals: 0 },
    ] as const;
    const holds = (facts: Record<string, string>) => tests.map((test) => factConditionHolds(test, facts));
    assert.deepEqual(holds({ daysSupply: '90', asNeeded: 'true', refillsRemaining: '0' }), [
      true,
      true,
      true,
    ]);
    assert.deepEqual(holds({ daysSupply: '30', asNeeded: 'false', refillsRemaining: '2' }), [
      false,
      false,
      false,
    ]);
    assert.deepEqual(holds({}), [false, false, false], 'a missing fact passes no test');
  });

  it('exports the schema as JSON Schema for clinics', () => {
    const schema = journeyJsonSchema() as {
      type: string;
      required: string[];
      properties: Record<string, unknown>;
    };
    assert.equal(schema.type, 'object');
    assert.ok(schema.required.includes('steps'));
    assert.ok('anchor' in schema.properties);
  });
});
