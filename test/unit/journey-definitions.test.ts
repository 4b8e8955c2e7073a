import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { builtInJourneys, templatesOf } from '../../journeys/built-in';
import { journeyJsonSchema, validateJourney } from '../../journeys/schema';
import { supportedLanguages } from '../../locales';

describe('journey definitions', () => {
  it('ships four valid built-in journeys', () => {
    assert.deepEqual(
      builtInJourneys().map((journey) => journey.key),
      ['insurance-reenrollment', 're-engagement', 'refill', 'screening'],
    );
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
    refill.steps[0] = {
      id: 'before-supply-ends',
      type: 'wait',
      until: { offset: 'three days', at: '25:00' },
    };
    refill.steps[2] = { ...refill.steps[2], onTimeout: 'nowhere' };
    refill.steps.push({ id: 'refill-due', type: 'send', template: 'x' });
    const result = validateJourney(refill);
    assert.equal(result.ok, false);
    const errors = result.ok ? [] : result.errors;
    assert.ok(
      errors.includes(
        'step "before-supply-ends" (steps[0]).until.offset: expected a signed ISO-8601 duration such as -P3D or P1D',
      ),
      errors.join('\n'),
    );
    assert.ok(
      errors.includes('step "before-supply-ends" (steps[0]).until.at: expected a local time HH:MM'),
      errors.join('\n'),
    );
    assert.ok(
      errors.includes('step "await-refill" (steps[2]).onTimeout: refers to unknown step "nowhere"'),
      errors.join('\n'),
    );
    assert.ok(
      errors.includes('step "refill-due" (steps[5]).id: duplicate step id "refill-due"'),
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
    assert.match(errors, /step "c" \(steps\[2\]\): Unrecognized key: "colour"/);
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
