// Every word a patient reads, in every shipped language: the catalogues complete (keys, plural forms,
// values), the language chosen from a BCP 47 tag and never mixed within a message, dates, counts and
// right-to-left text written as each language writes them, and inbound keywords in the patient's language.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Clinic } from '../../db/schema';
import { clinicSettings } from '../../journeys/clinic-settings';
import { builtInJourneys } from '../../journeys/built-in';
import { validateJourney, type JourneyDefinition } from '../../journeys/schema';
import {
  isolate,
  keywordsFor,
  languageChain,
  matchKeyword,
  missingValuesProblem,
  render,
  renderReply,
  REPLY_KINDS,
  supportedLanguages,
  textDirection,
  type RenderRequest,
} from '../../locales';
import { catalogueProblems, readCatalogues } from '../../locales/completeness';
import { KEYWORDS, normaliseReply } from '../../locales/keywords';
import { smsLength } from '../../rules/sms-segments';
import { publishProblems } from '../../usecases/publish-journey';

const SHIPPED = [
  'ar',
  'en',
  'es',
  'fr',
  'hi',
  'ht',
  'ko',
  'pl',
  'pt',
  'ru',
  'tl',
  'vi',
  'zh-Hans',
  'zh-Hant',
];
const now = Date.parse('2027-12-01T15:00:00Z');
const message = (overrides: Partial<RenderRequest>) =>
  render({
    template: 'refill-due',
    language: 'en',
    facts: {},
    timeZone: 'America/New_York',
    now,
    clinic: 'Riverside Clinic',
    phone: '(415) 555-0100',
    link: 'https://remind.clinic.org/m/AbCdEfGhIjKl',
    ...overrides,
  });
/** The days-left phrase a deadline `days` ahead of `now` renders as. */
const daysLeft = (language: string, days: number) =>
  message({
    template: 'enrollment-final',
    language,
    timeZone: 'UTC',
    facts: { deadline: new Date(now + days * 86_400_000).toISOString().slice(0, 10) },
  }).subject;

describe('catalogues', () => {
  it('ships the fourteen languages, each with who wrote it and whether a native speaker reviewed it', () => {
    assert.deepEqual(supportedLanguages(), SHIPPED);
    for (const [language, catalogue] of Object.entries(readCatalogues())) {
      const meta = catalogue._meta as { language: string; author: string; nativeReview: boolean };
      assert.equal(meta.language, language);
      assert.match(meta.author, /^carebell engineering/);
      assert.equal(typeof meta.nativeReview, 'boolean');
    }
  });

  it('has in every language every key, plural form and value English has', () => {
    assert.deepEqual(catalogueProblems(readCatalogues()), []);
  });

  it('names each gap: a missing file, key, plural form or value', () => {
    const catalogues = structuredClone(readCatalogues());
    const ru = catalogues.ru!;
    const common = ru.common as Record<string, string>;
    delete common.daysLeft_few;
    delete (ru['refill-soon'] as { email: Record<string, string> }).email.subject;
    (ru['refill-due'] as { sms: string }).sms = 'пора получить лекарство.';
    delete catalogues.ar!['screening-due'];
    delete (catalogues.ar!.common as Record<string, string>).daysLeft_two;
    delete (catalogues.pl!.keywords as Record<string, string[]>).stop;
    assert.deepEqual(catalogueProblems(catalogues).sort(), [
      'ar/common: daysLeft_two missing',
      'ar/screening-due: missing',
      'pl/keywords: "stop" needs a list of words',
      'ru/common: daysLeft_few missing',
      'ru/refill-due: sms shows {{}}, English {{clinic}}, {{contact}}, {{link}}',
      'ru/refill-soon: email.subject missing',
    ]);
  });

  it('asks for every plural form the language has: six in Arabic, four in Russian and Polish', () => {
    const forms = (language: string) => new Intl.PluralRules(language).resolvedOptions().pluralCategories;
    assert.deepEqual([...forms('ar')].sort(), ['few', 'many', 'one', 'other', 'two', 'zero']);
    assert.deepEqual([...forms('ru')].sort(), ['few', 'many', 'one', 'other']);
    assert.deepEqual([...forms('zh-Hans')], ['other']);
  });
});

describe('the language of a message', () => {
  const chain = (tag: string, clinic?: string) => languageChain(tag, clinic).chain;

  it('follows a BCP 47 tag to the shipped language that writes it, then the clinic default, then English', () => {
    assert.deepEqual(chain('zh-Hant-TW', 'es'), ['zh-Hant', 'es', 'en']);
    for (const tag of ['zh-TW', 'zh-HK', 'zh-MO', 'yue', 'yue-HK'])
      assert.equal(chain(tag)[0], 'zh-Hant', tag);
    for (const tag of ['zh', 'zh-CN', 'zh-SG', 'zh-Hans-HK', 'cmn'])
      assert.equal(chain(tag)[0], 'zh-Hans', tag);
    for (const tag of ['fil', 'fil-PH', 'tl', 'tl-PH']) assert.equal(chain(tag)[0], 'tl', tag);
    assert.deepEqual(chain('es-MX'), ['es', 'en']);
    assert.deepEqual(chain('ht-HT', 'fr'), ['ht', 'fr', 'en']);
  });

  it('never serves Traditional Chinese for Simplified or the other way round', () => {
    assert.deepEqual(chain('zh-Hant'), ['zh-Hant', 'en']);
    assert.deepEqual(chain('zh-Hans-TW'), ['zh-Hans', 'en']);
    assert.deepEqual(chain('zh-TW', 'zh-Hans'), ['zh-Hant', 'zh-Hans', 'en'], 'only as the clinic default');
  });

  it('falls back to the clinic default for a language not shipped, and marks it a fallback', () => {
    // Hebrew (iw is its old tag) and Somali are not shipped.
    assert.deepEqual(languageChain('iw', 'es'), { chain: ['es', 'en'], own: 0 });
    assert.deepEqual(languageChain('english!', 'es'), { chain: ['es', 'en'], own: 0 });
    const somali = message({ language: 'so', clinicLanguage: 'es' });
    assert.deepEqual([somali.language, somali.fallback], ['es', true]);
    assert.match(somali.sms, /receta/);
    const mexican = message({ language: 'es-MX' });
    assert.deepEqual([mexican.language, mexican.fallback], ['es', false]);
  });

  it('writes a message wholly in one language: a language missing one text gives way for the whole message', () => {
    // A template only the clinic wrote: complete in English, only an SMS in Spanish.
    const texts = {
      en: { sms: 'EN {{clinic}} {{link}}', email: { subject: 'EN subject', text: 'EN text {{link}}' } },
      es: { sms: 'ES {{clinic}} {{link}}' },
    };
    const mixed = message({ template: 'clinic-only', language: 'es', texts });
    assert.deepEqual([mixed.language, mixed.fallback], ['en', true]);
    assert.deepEqual(
      [mixed.sms.slice(0, 3), mixed.subject, mixed.text.slice(0, 7)],
      ['EN ', 'EN subject', 'EN text'],
    );
    // A clinic's own text in a language the catalogue completes: its words, the catalogue's for the rest.
    const own = message({ language: 'es', texts: { es: { sms: 'Hola de {{clinic}}: {{link}}' } } });
    assert.equal(own.sms, 'Hola de Riverside Clinic: https://remind.clinic.org/m/AbCdEfGhIjKl');
    assert.match(own.subject, /receta/);
    assert.equal(own.fallback, false);
  });
});

describe('dates, counts and direction', () => {
  it('writes dates, weekdays and times as the language does, Haitian Creole included', () => {
    const appointment = (language: string) =>
      message({
        template: 'appointment-reminder',
        language,
        facts: { appointmentDate: '2027-12-15', appointmentTime: '14:30' },
      });
    assert.match(appointment('en').subject, /Wednesday, December 15 at 2:30 PM/);
    assert.match(appointment('es').subject, /miércoles, 15 de diciembre a las 14:30/);
    assert.match(appointment('zh-Hant').subject, /12月15日星期三 下午2:30/);
    assert.match(appointment('ru').subject, /среда, 15 декабря, 14:30/);
    assert.match(appointment('ht').subject, /mèkredi 15 desanm a 14:30/);
    assert.match(appointment('ht').sms, /randevou 15 desanm a 14:30\./);
  });

  it('counts days with Arabic plural forms: zero, one, two, few, many, other', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 11, 100].map((days) =>
        daysLeft('ar', days)
          .split(': ')[1]!
          .replace(/ \(.*$/, ''),
      ),
      ['اليوم هو اليوم الأخير', 'بقي يوم واحد', 'بقي يومان', 'بقيت 3 أيام', 'بقي 11 يومًا', 'بقي 100 يوم'],
    );
  });

  it('counts days with Russian plural forms: one, few, many', () => {
    assert.match(daysLeft('ru', 1), /остался 1 день/);
    assert.match(daysLeft('ru', 21), /остался 21 день/);
    assert.match(daysLeft('ru', 3), /осталось 3 дня/);
    assert.match(daysLeft('ru', 5), /осталось 5 дней/);
    assert.match(daysLeft('ru', 11), /осталось 11 дней/);
    assert.match(daysLeft('pl', 22), /zostały 22 dni/);
    assert.match(daysLeft('pl', 25), /zostało 25 dni/);
    assert.match(daysLeft('en', 1), /1 day left/);
  });

  it('counts from the day of sending in the patient zone, and says so on the last day', () => {
    // 23:30 in Honolulu on 30 November is 1 December in UTC: two days to a 2 December deadline there.
    const late = Date.parse('2027-12-01T09:30:00Z');
    const subject = message({
      template: 'enrollment-final',
      timeZone: 'Pacific/Honolulu',
      now: late,
      facts: { deadline: '2027-12-02' },
    }).subject;
    assert.match(subject, /2 days left/);
    assert.match(daysLeft('en', 0), /today is the last day/);
  });

  it('isolates names, numbers and links inside right-to-left text', () => {
    assert.equal(textDirection('ar'), 'rtl');
    assert.equal(textDirection('zh-Hant'), 'ltr');
    assert.equal(isolate('Riverside Clinic', 'ar'), '\u2068Riverside Clinic\u2069');
    assert.equal(isolate('Riverside Clinic', 'en'), 'Riverside Clinic');
    const arabic = message({ language: 'ar' });
    assert.ok(arabic.sms.startsWith('\u2068Riverside Clinic\u2069: '));
    assert.match(arabic.sms, /\u2068https:\/\/remind\.clinic\.org\/m\/AbCdEfGhIjKl\u2069 /);
    assert.match(arabic.sms, /\u2068\(415\) 555-0100\u2069/);
    assert.doesNotMatch(message({ language: 'en' }).sms, /[\u2068\u2069]/);
  });
});

describe('the appointment reminder asks for a reply', () => {
  it('names, in every shipped language, a confirm and a cancel word that language understands', () => {
    for (const language of SHIPPED) {
      const { sms } = message({
        template: 'appointment-reminder',
        language,
        facts: { appointmentDate: '2027-12-15', appointmentTime: '09:30' },
      });
      const named = (keyword: 'confirm' | 'cancelAppointment') =>
        keywordsFor(language)[keyword].filter((word) => sms.includes(word));
      // Each prompted word, sent back alone, reads as that keyword and nothing else.
      for (const keyword of ['confirm', 'cancelAppointment'] as const) {
        assert.ok(named(keyword).length > 0, `${language}: no ${keyword} word in "${sms}"`);
        for (const word of named(keyword))
          assert.equal(matchKeyword(word, language), keyword, `${language}: "${word}"`);
      }
    }
  });
});

describe('replies to STOP, START and HELP', () => {
  it('answers in the patient language with the clinic and its contact, within 160 characters', () => {
    const over70: string[] = [];
    for (const language of SHIPPED) {
      for (const kind of REPLY_KINDS) {
        const reply = renderReply(kind, {
          language,
          clinic: 'Riverside Family Clinic',
          phone: '(415) 555-0100',
        });
        assert.equal(reply.language, language);
        const length = smsLength(reply.text);
        assert.ok([...reply.text].length <= 160, `${language} ${kind}: ${reply.text}`);
        if (length.encoding === 'GSM-7') assert.equal(length.segments, 1, `${language} ${kind}`);
        else if (length.segments > 1) over70.push(`${language} ${kind}`);
        assert.match(reply.text, kind === 'stopConfirmation' ? /START/ : /STOP/, `${language} ${kind}`);
      }
      assert.match(renderReply('help', { language, clinic: 'C', phone: '(415) 555-0100' }).text, /555-0100/);
    }
    // Chinese fits one UCS-2 segment; the rest of the UCS-2 languages need two (README, "Languages").
    assert.ok(!over70.some((entry) => entry.startsWith('zh-')), over70.join(', '));
  });
});

describe('inbound keywords', () => {
  it('recognises the patient language beside English, whatever the case, spacing and punctuation', () => {
    const cases: [string, string, string | undefined][] = [
      ['Stop.', 'es-MX', 'stop'],
      [' parar!! ', 'es-MX', 'stop'],
      ['Baja', 'es', 'stop'],
      ['no mas', 'es', 'stop'],
      ['停止', 'zh-CN', 'stop'],
      ['退訂', 'zh-TW', 'stop'],
      ['СТОП', 'ru', 'stop'],
      ['стоп', 'ru-RU', 'stop'],
      ['DỪNG', 'vi', 'stop'],
      ['dung', 'vi', 'stop'],
      ['إلغاء', 'ar', 'stop'],
      ['الغاء الموعد', 'ar', 'cancelAppointment'],
      ['रोकें', 'hi', 'stop'],
      ['수신 거부', 'ko', 'stop'],
      ['Arrêter', 'fr-CA', 'stop'],
      ['sispann', 'ht', 'stop'],
      ['tigil', 'fil', 'stop'],
      ['CANCEL', 'en', 'stop'],
      ['cancel appt', 'es', 'cancelAppointment'],
      ['Cancelar cita', 'es', 'cancelAppointment'],
      ['odwolaj wizyte', 'pl', 'cancelAppointment'],
      ['START', 'ko', 'start'],
      ['unstop', 'zh-Hant', 'start'],
      ['AYUDA', 'es', 'help'],
      ['Sí', 'es', 'confirm'],
      ['yes', 'pt-BR', 'start'],
      ['parar', 'en', undefined],
      ['stop texting me please', 'en', undefined],
      ['', 'en', undefined],
      ['👍', 'en', undefined],
    ];
    for (const [text, language, expected] of cases)
      assert.equal(matchKeyword(text, language), expected, `${JSON.stringify(text)} in ${language}`);
  });

  it('gives no word two meanings in a language or beside English', () => {
    for (const language of SHIPPED) {
      const seen = new Map<string, string>();
      for (const source of [...new Set([language, 'en'])])
        for (const keyword of KEYWORDS)
          for (const word of keywordsFor(source)[keyword]) {
            const normal = normaliseReply(word);
            const earlier = seen.get(normal);
            assert.ok(
              earlier === undefined || earlier === keyword,
              `${language}: "${word}" is ${earlier} and ${keyword}`,
            );
            seen.set(normal, keyword);
          }
    }
  });
});

describe('clinic texts in a journey version', () => {
  const refill = builtInJourneys().find((journey) => journey.key === 'refill')!;
  const clinic: Clinic = {
    id: '00000000-0000-4000-8000-000000000001',
    name: 'Hope Oncology and Addiction Center',
    displayName: 'Riverside Family Clinic',
    contactPhone: '+14155550100',
    postalAddress: null,
    timeZone: 'America/New_York',
    phoneRegion: 'US',
    marketingEmailSender: null,
    brandColor: null,
    retentionDays: 2557,
    quietHoursEnd: '08:00',
    quietHoursStart: '21:00',
    maxPerDay: 1,
    maxPerWeek: 3,
    smsSender: null,
    emailSender: null,
    settings: {},
    createdAt: new Date(),
  };
  const withTexts = (texts: unknown): JourneyDefinition => {
    const result = validateJourney({ ...refill, texts });
    assert.ok(result.ok, result.ok ? '' : result.errors.join('\n'));
    return result.value;
  };
  const url = 'https://remind.clinic.org';

  it('publishes the built-in journeys for a clinic with the default settings', () => {
    for (const journey of builtInJourneys())
      assert.deepEqual(publishProblems(journey, clinic, url), [], journey.key);
  });

  it('refuses texts for a template no step sends', () => {
    const result = validateJourney({ ...refill, texts: { es: { 'refil-soon': { sms: 'x {{link}}' } } } });
    assert.deepEqual(result.ok ? [] : result.errors, [
      'texts.es.refil-soon: no send step uses the template "refil-soon"',
    ]);
  });

  it('refuses an SMS over the limit in any language, naming the language and the template', () => {
    const long = withTexts({
      'zh-Hant': { 'refill-soon': { sms: `{{clinic}}：${'請'.repeat(80)}{{link}}` } },
    });
    assert.deepEqual(
      publishProblems(long, clinic, url),
      [],
      '144 characters: three segments, allowed by default',
    );
    const problems = publishProblems(long, { ...clinic, settings: { smsMaxSegments: 2 } }, url);
    assert.ok(
      problems.some((problem) =>
        /^template "refill-soon" in zh-Hant: its SMS takes up to 3 segments/.test(problem),
      ),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((problem) =>
        /^template "refill-soon" in vi: its SMS takes up to 3 segments/.test(problem),
      ),
      "a catalogue text over a clinic's lower limit is named too",
    );
    const tooLong = withTexts({ vi: { 'refill-soon': { sms: `{{clinic}}: ${'ừ'.repeat(120)} {{link}}` } } });
    assert.ok(
      publishProblems(tooLong, clinic, url).includes(
        'template "refill-soon" in vi: its SMS has up to 186 characters; a healthcare message may have 160',
      ),
      publishProblems(tooLong, clinic, url).join('\n'),
    );
    // One segment holds only the GSM-7 languages.
    const strict = publishProblems(refill, { ...clinic, settings: { smsMaxSegments: 1 } }, url);
    assert.ok(strict.some((problem) => problem.includes('in zh-Hans')));
    assert.ok(!strict.some((problem) => / in (en|es|ht|tl):/.test(problem)), strict.join('\n'));
  });

  it('refuses a language not shipped and a value the journey does not give', () => {
    const problems = publishProblems(
      withTexts({
        so: { 'refill-soon': { sms: '{{clinic}} {{link}}' } },
        es: { 'refill-soon': { sms: '{{clinic}}: {{patientName}} {{refillDueDateDaysLeft}} {{link}}' } },
      }),
      clinic,
      url,
    );
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(problems[0]!, /^texts\.so: not a shipped language/);
    assert.match(
      problems[1]!,
      /^texts\.es\.refill-soon\.sms: \{\{patientName\}\} is not a value this journey gives/,
    );
  });

  it('checks the values of a clinic text when an event enrolls a patient', () => {
    const journey = withTexts({ es: { 'refill-soon': { sms: '{{clinic}} {{pharmacy}} {{link}}' } } });
    assert.equal(
      missingValuesProblem(journey, { daysSupply: '30', refillDueDate: 'x' }),
      'facts: refill needs pharmacy',
    );
  });

  it('takes a shipped language as the clinic default, and three segments as the SMS limit', () => {
    const defaults = clinicSettings.parse({});
    assert.deepEqual([defaults.defaultLanguage, defaults.smsMaxSegments], ['en', 3]);
    assert.equal(clinicSettings.parse({ defaultLanguage: 'zh-tw' }).defaultLanguage, 'zh-TW');
    assert.equal(clinicSettings.safeParse({ defaultLanguage: 'so' }).success, false);
  });
});
