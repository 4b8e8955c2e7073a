import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { KEYWORDS, keywordsFor, normaliseReply } from '../../locales/keywords';
import { supportedLanguages } from '../../locales/languages';
import { matchReply as matchKeyword, readsAsStopWish, understandReply } from '../../usecases/reply-intent';

const OPT_OUT_WORDS = [
  'STOP',
  'STOPALL',
  'UNSUBSCRIBE',
  'CANCEL',
  'END',
  'QUIT',
  'REVOKE',
  'OPT OUT',
  'OPTOUT',
];
const SPANISH_OPT_OUT = ['PARAR', 'ALTO', 'BAJA', 'CANCELAR'];
const padding = fc.array(fc.constantFrom(' ', '\t', '\n', '.', '!', '?', ',', '"', '*', '-', '…'), {
  maxLength: 4,
});
/** The same letters in any mix of upper and lower case. */
const anyCase = (word: string) =>
  fc
    .array(fc.boolean(), { minLength: word.length, maxLength: word.length })
    .map((flags) => [...word].map((c, i) => (flags[i] ? c.toLowerCase() : c)).join(''));

describe('SMS reply keywords', () => {
  it('reads every FCC opt-out word, in English and Spanish, in any case with punctuation and spaces around', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...OPT_OUT_WORDS, ...SPANISH_OPT_OUT).chain(anyCase),
        padding,
        padding,
        fc.constantFrom('en', 'es', 'fr'),
        (word, before, after, language) => {
          assert.equal(matchKeyword(before.join('') + word + after.join(''), language).intent, 'stop');
        },
      ),
    );
  });

  it('reads OPT-OUT and opt.out as OPT OUT', () => {
    for (const text of ['opt-out', 'Opt Out!', 'OPT.OUT', 'optout', 'Stop all']) {
      assert.equal(matchKeyword(text).intent, 'stop', text);
    }
  });

  it('never reads CANCEL APPT (or CANCELAR CITA) as an opt-out, however written', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('CANCEL APPT', 'CANCEL APPOINTMENT', 'CANCELAR CITA').chain(anyCase),
        padding,
        padding,
        fc.constantFrom(' ', '  ', '-', ' - '),
        (phrase, before, after, separator) => {
          const text = before.join('') + phrase.replace(' ', separator) + after.join('');
          const understood = understandReply(text);
          assert.equal(understood.intent, 'cancel');
          assert.equal(understood.flagged, false);
        },
      ),
    );
  });

  it('reads START, UNSTOP, YES, HELP, AYUDA, CONFIRM, CONFIRMAR and DONE', () => {
    assert.equal(matchKeyword('start').intent, 'start');
    assert.equal(matchKeyword(' Unstop ').intent, 'start');
    assert.equal(matchKeyword('Yes!').intent, 'start');
    assert.equal(matchKeyword('help?').intent, 'help');
    assert.deepEqual(matchKeyword('¡Ayuda!'), { intent: 'help', language: 'es' });
    assert.equal(matchKeyword('Confirm').intent, 'confirm');
    assert.equal(matchKeyword('confirmar.').intent, 'confirm');
    assert.equal(matchKeyword('DONE').intent, 'done');
    assert.equal(matchKeyword('Sí').intent, 'confirm');
  });

  it('flags STOP inside a sentence for staff, without reading it as an opt-out', () => {
    for (const text of [
      'please stop texting me',
      "Don't text me anymore",
      'no more messages please',
      'STOP IT NOW',
      'remove me from this list',
      'wrong number',
      'No me envíen más mensajes',
      'ya no quiero recibir mensajes',
      'dejen de escribirme',
    ]) {
      const understood = understandReply(text);
      assert.equal(understood.intent, 'other', text);
      assert.equal(understood.flagged, true, text);
    }
  });

  it('does not flag ordinary replies', () => {
    for (const text of ['Thank you!', 'See you Tuesday', 'What time is it?', 'Gracias', 'ok']) {
      assert.equal(understandReply(text).flagged, false, text);
    }
  });

  it('reads a keyword with more words as other, and flags it when the word plainly means stop', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...OPT_OUT_WORDS).chain(anyCase),
        fc.stringMatching(/^[a-z]{2,8}$/),
        fc.boolean(),
        (word, extra, first) => {
          const text = first ? `${word} ${extra}` : `${extra} ${word}`;
          const all = supportedLanguages().flatMap((language) =>
            KEYWORDS.flatMap((keyword) => keywordsFor(language)[keyword].map(normaliseReply)),
          );
          fc.pre(!all.includes(normaliseReply(text)));
          assert.equal(matchKeyword(text).intent, 'other');
          // CANCEL, END and QUIT are everyday words in a sentence; the others say only one thing.
          if (!['CANCEL', 'END', 'QUIT'].includes(word.toUpperCase()))
            assert.equal(readsAsStopWish(text), true);
        },
      ),
    );
  });

  it('normalises case, accents, punctuation and spaces', () => {
    assert.equal(normaliseReply('  ¡Cancelar   cita! '), 'cancelar cita');
    fc.assert(
      fc.property(fc.string(), (text) => {
        const normalised = normaliseReply(text);
        assert.equal(normaliseReply(normalised), normalised);
        assert.doesNotMatch(normalised, /^\s|\s$|\s\s/);
      }),
    );
  });
});
