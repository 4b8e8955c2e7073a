import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCarebell, runCarebellSimulate, tempDir } from '../support/harness';

const carebell = (...args: string[]) => runCarebell(args);

describe('carebell simulate', () => {
  it('prints the timeline of a built-in journey as JSON', async () => {
    const result = await runCarebellSimulate([
      '--journey',
      'insurance-reenrollment',
      '--patient',
      'examples/insurance-reenrollment/patient.json',
      '--event',
      'examples/insurance-reenrollment/event.json',
      '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const timeline = JSON.parse(result.stdout) as Record<string, unknown>[];
    assert.deepEqual(Object.keys(timeline[0]!).sort(), [
      'at',
      'category',
      'channel',
      'language',
      'languageFallback',
      'localTime',
      'outcome',
      'reason',
      'step',
      'text',
      'variant',
    ]);
    const sent = timeline.filter((entry) => entry.outcome === 'sent');
    assert.equal(sent.length, 3);
    for (const entry of sent) {
      assert.match(String(entry.at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.match(String(entry.localTime), /T10:00:00\+1[23]:45$/, '10:00 in Chatham, with its offset');
      assert.equal(entry.category, 'marketing');
      assert.match(String(entry.text), /Marketplace/, 'the message as the patient reads it');
    }
  });

  it('rejects a bad patient file with the field and the reason', async () => {
    const dir = await tempDir('simulate');
    const patient = path.join(dir, 'patient.json');
    await fs.writeFile(patient, JSON.stringify({ timeZone: 'Mars/Olympus_Mons', language: 'english!' }));
    const result = await carebell(
      'simulate',
      '--journey',
      'refill',
      '--patient',
      patient,
      '--event',
      'examples/refill/event.json',
    );
    assert.equal(result.code, 2);
    assert.match(result.stderr, /timeZone: must be an IANA time zone/);
    assert.match(result.stderr, /language: must be a BCP 47 language tag/);
  });

  it('rejects an invalid journey file naming the step and the field', async () => {
    const dir = await tempDir('simulate');
    const journey = path.join(dir, 'journey.json');
    await fs.writeFile(
      journey,
      JSON.stringify({
        key: 'x',
        version: 1,
        name: 'x',
        category: 'transactional',
        trigger: { event: 'medication.dispensed' },
        anchor: 'refillDueDate',
        goal: { event: 'a.b' },
        steps: [{ id: 'w', type: 'wait', for: 'soon' }],
      }),
    );
    const result = await carebell(
      'simulate',
      '--journey',
      journey,
      '--patient',
      'examples/refill/patient.json',
      '--event',
      'examples/refill/event.json',
    );
    assert.equal(result.code, 2);
    assert.match(result.stderr, /step "w" \(steps\[0\]\)\.for: expected an ISO-8601 duration/);
  });
});
