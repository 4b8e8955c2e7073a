// Every built-in journey, from its examples under examples/<key>/, previewed for a patient in each shipped
// language through the simulate use case (one time-skipping server and worker for them all): every
// message the patient would get is written wholly in that language, with no English left in it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventFile, patientFile } from '../../journeys/sample-inputs';
import { builtInJourneys } from '../../journeys/built-in';
import { supportedLanguages } from '../../locales';
import { createSimulator, type Simulator } from '../../usecases/simulate';
import { retryServerStart, testServerPath } from '../support/harness';

const examples = path.join(import.meta.dirname, '..', '..', 'examples');
const read = (key: string, file: string): unknown =>
  JSON.parse(fs.readFileSync(path.join(examples, key, file), 'utf8'));

// The words of the English catalogue's boilerplate: any of them in another language's message would be
// a text that fell back to English on its own.
const ENGLISH = [/Reply STOP/, /\bView\b/, /^Hello,/m, /To protect your privacy/, /\bCall \(/, /\bplease\b/i];
// Scripts a language is written in, for those not written in Latin letters.
const SCRIPT: Record<string, RegExp> = {
  ar: /\p{Script=Arabic}/u,
  hi: /\p{Script=Devanagari}/u,
  ko: /\p{Script=Hangul}/u,
  ru: /\p{Script=Cyrillic}/u,
  'zh-Hans': /\p{Script=Han}/u,
  'zh-Hant': /\p{Script=Han}/u,
};

describe('built-in journeys in every shipped language, through the simulate use case', () => {
  let simulator: Simulator;
  before(async () => {
    simulator = await retryServerStart(() => createSimulator(testServerPath()));
  });
  after(async () => {
    await simulator.close();
  });

  for (const definition of builtInJourneys()) {
    it(`${definition.key}: every message wholly in the patient language`, async () => {
      const patient = patientFile.parse(read(definition.key, 'patient.json'));
      // Every example event, so every template a built-in journey sends is read in every language.
      const events = fs
        .readdirSync(path.join(examples, definition.key))
        .filter((file) => file.startsWith('event'))
        .map((file) => eventFile.parse(read(definition.key, file)));
      const texts = new Map<string, string>();
      for (const [language, event] of supportedLanguages().flatMap((language) =>
        events.map((event) => [language, event] as const),
      )) {
        const { timeline } = await simulator.simulate({
          definition,
          // Both channels, so that SMS and email bodies are both seen across the journey.
          patient: { ...patient, language, channels: ['sms', 'email'] },
          event,
        });
        const sent = timeline.filter((entry) => entry.outcome === 'sent');
        assert.ok(sent.length > 0, `${definition.key} sends in ${language}`);
        for (const entry of sent) {
          const where = `${definition.key}/${entry.step} in ${language}`;
          assert.equal(entry.language, language, where);
          assert.equal(entry.languageFallback, false, where);
          assert.ok(entry.text, where);
          assert.ok(
            !/\{\{|\}\}|undefined/.test(entry.text),
            `${where}: a value left unfilled: ${entry.text}`,
          );
          if (language !== 'en')
            for (const english of ENGLISH)
              assert.doesNotMatch(entry.text, english, `${where}: ${entry.text}`);
          if (SCRIPT[language]) assert.match(entry.text, SCRIPT[language], where);
          const earlier = texts.get(`${entry.step}:${entry.text}`);
          assert.ok(earlier === undefined || earlier === language, `${where} reads exactly as in ${earlier}`);
          texts.set(`${entry.step}:${entry.text}`, language);
        }
      }
    });
  }
});
