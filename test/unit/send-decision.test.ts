import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import type { Category, Channel } from '../../domain/messaging';
import { settingsOf } from '../../journeys/clinic-settings';
import type { FactType } from '../../journeys/schema';
import {
  longestSms,
  messageTemplates,
  placeholders,
  render,
  SUPPLIED_VALUES,
  supportedLanguages,
} from '../../locales';
import { readCatalogues } from '../../locales/completeness';
import { factOfValue } from '../../locales/format';
import {
  DEFAULT_CAPS,
  DEFAULT_WINDOW,
  decideSend,
  effectiveCaps,
  effectiveWindow,
  usState,
  type SendFacts,
} from '../../rules/sending';
import { FCC_HEALTHCARE_MAX_CHARACTERS, smsLength } from '../../rules/sms-segments';

const zone = 'America/New_York';
const at = (iso: string) => DateTime.fromISO(iso, { zone }).toMillis();
const sms = { channel: 'sms' as const, address: '+14155550100', addressIndex: 'phone-1' };
const email = { channel: 'email' as const, address: 'p@example.org', addressIndex: 'email-1' };

const facts = (overrides: Partial<SendFacts> = {}): SendFacts => ({
  now: at('2027-02-10T12:00'),
  category: 'transactional',
  patient: { status: 'active', timeZone: zone },
  order: ['sms', 'email'],
  contacts: [sms, email],
  suppressed: new Set(),
  consentAllows: () => true,
  window: DEFAULT_WINDOW,
  caps: DEFAULT_CAPS,
  earlier: [],
  plannedTransactional: [],
  ...overrides,
});

describe('the one send decision', () => {
  it('ranks the rules: patient, contact point, suppression, consent, then the window and caps', () => {
    const cases: [string, Partial<SendFacts>, unknown][] = [
      ['inactive patient', { patient: { status: 'inactive', timeZone: zone } }, 'patient-inactive'],
      ['deceased patient', { patient: { status: 'deceased', timeZone: zone } }, 'patient-deceased'],
      ['no contact point', { contacts: [] }, 'no-contact-point'],
      ['only the other channel', { contacts: [email], order: ['sms'] }, 'no-contact-point'],
      ['every address suppressed', { suppressed: new Set(['phone-1', 'email-1']) }, 'suppressed-address'],
      ['opted out of both', { consentAllows: () => false }, 'opted-out'],
      [
        'marketing without opt-in',
        { category: 'marketing', consentAllows: (_c: Channel, k: Category) => k !== 'marketing' },
        'no-marketing-consent',
      ],
      // Even outside the window, a patient who cannot be sent to is suppressed at once, not deferred.
      [
        'deceased at night',
        { now: at('2027-02-10T23:00'), patient: { status: 'deceased', timeZone: zone } },
        'patient-deceased',
      ],
    ];
    for (const [name, override, reason] of cases) {
      assert.deepEqual(decideSend(facts(override)), { kind: 'suppress', reason }, name);
    }
  });

  it('sends on the routes left, in order: a suppressed or opted-out channel falls to the next', () => {
    assert.deepEqual(decideSend(facts()), { kind: 'send', routes: [sms, email] });
    assert.deepEqual(decideSend(facts({ suppressed: new Set(['phone-1']) })), {
      kind: 'send',
      routes: [email],
    });
    assert.deepEqual(decideSend(facts({ consentAllows: (channel) => channel === 'email' })), {
      kind: 'send',
      routes: [email],
    });
  });

  it('defers at the moment of the attempt: quiet hours, then the caps', () => {
    assert.deepEqual(decideSend(facts({ now: at('2027-02-10T21:00') })), {
      kind: 'defer',
      until: at('2027-02-11T08:00'),
      reason: 'quiet-hours',
    });
    const earlier = [
      { at: at('2027-02-10T09:00'), category: 'transactional' as const, addressIndex: 'phone-1', mine: true },
    ];
    assert.deepEqual(decideSend(facts({ earlier })), {
      kind: 'defer',
      until: at('2027-02-11T08:00'),
      reason: 'frequency-cap',
    });
  });

  it('counts sends to a shared number, whoever they were for', () => {
    // A family member's reminder to the same phone today: this patient's goes tomorrow.
    const sibling = {
      at: at('2027-02-10T10:00'),
      category: 'transactional' as const,
      addressIndex: 'phone-1',
      mine: false,
    };
    const decision = decideSend(facts({ earlier: [sibling] }));
    assert.equal(decision.kind, 'defer');
    // Preferring email, the shared phone does not hold it back.
    assert.deepEqual(decideSend(facts({ earlier: [sibling], order: ['email', 'sms'], contacts: [email] })), {
      kind: 'send',
      routes: [email],
    });
  });

  it('never sends outside 08:00-21:00 local, whatever the clinic, the zone or the moment', () => {
    const zones = [
      'America/New_York',
      'America/Phoenix',
      'Pacific/Honolulu',
      'Asia/Kolkata',
      'Australia/Lord_Howe',
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: at('2026-01-01T00:00'), max: at('2028-12-31T00:00') }),
        fc.constantFrom(...zones),
        fc.constantFrom('05:00', '07:30', '08:00', '09:15', 'garbage'),
        fc.constantFrom('20:00', '21:00', '22:30', '23:59', '25:00'),
        fc.constantFrom<Category>('transactional', 'marketing'),
        fc.constantFrom(undefined, 'FL', 'TX', 'CA'),
        (now, timeZone, opens, closes, category, state) => {
          const decision = decideSend(
            facts({
              now,
              category,
              patient: { status: 'active', timeZone },
              window: effectiveWindow({ opens, closes }, category, state),
            }),
          );
          const when =
            decision.kind === 'send' ? now : decision.kind === 'defer' ? decision.until : undefined;
          if (when === undefined) return;
          const local = DateTime.fromMillis(when, { zone: timeZone }).toFormat('HH:mm');
          assert.ok(local >= '08:00' && local < '21:00', `${local} in ${timeZone}`);
          if (category === 'marketing' && (state === 'FL' || state === 'TX'))
            assert.ok(
              local < (state === 'FL' ? '20:00' : '21:00') && local >= (state === 'TX' ? '09:00' : '08:00'),
            );
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('clinic settings have floors', () => {
  it('never widens the window past 08:00-21:00, and narrows marketing by state', () => {
    assert.deepEqual(
      effectiveWindow({ opens: '06:00', closes: '23:00' }, 'transactional', undefined),
      DEFAULT_WINDOW,
    );
    assert.deepEqual(effectiveWindow({ opens: '09:00', closes: '18:00' }, 'transactional', 'FL'), {
      opens: '09:00',
      closes: '18:00',
    });
    assert.deepEqual(effectiveWindow(DEFAULT_WINDOW, 'transactional', 'FL'), DEFAULT_WINDOW);
    assert.deepEqual(effectiveWindow(DEFAULT_WINDOW, 'marketing', 'FL'), { opens: '08:00', closes: '20:00' });
    assert.deepEqual(effectiveWindow(DEFAULT_WINDOW, 'marketing', 'CT'), { opens: '09:00', closes: '20:00' });
  });

  it('never lets transactional caps exceed 1 a day and 3 a week', () => {
    assert.deepEqual(effectiveCaps({ perDay: 5, perWeek: 20 }, 'transactional'), { perDay: 1, perWeek: 3 });
    assert.deepEqual(effectiveCaps({ perDay: 5, perWeek: 20 }, 'marketing'), { perDay: 5, perWeek: 20 });
    assert.deepEqual(effectiveCaps({ perDay: Number.NaN, perWeek: -1 }, 'marketing'), DEFAULT_CAPS);
  });

  it('reads the state from a US postal address', () => {
    assert.equal(usState('12 Ocean Dr, Miami, FL 33139'), 'FL');
    assert.equal(usState('1 Main St\nAustin, TX 78701-1234, USA'), 'TX');
    assert.equal(usState('10 Downing Street, London'), undefined);
    assert.equal(usState(undefined), undefined);
  });
});

describe('SMS length', () => {
  it('counts GSM-7 and UCS-2 segments as carriers do', () => {
    assert.deepEqual(smsLength('a'.repeat(160)), { encoding: 'GSM-7', units: 160, segments: 1 });
    assert.deepEqual(smsLength('a'.repeat(161)), { encoding: 'GSM-7', units: 161, segments: 2 });
    assert.equal(smsLength('€'.repeat(80)).segments, 1, 'an extended character takes two septets');
    assert.equal(smsLength('€'.repeat(81)).segments, 2);
    assert.deepEqual(smsLength('más'), { encoding: 'UCS-2', units: 3, segments: 1 });
    assert.equal(smsLength('á'.repeat(71)).segments, 2);
  });

  it('fits every shipped SMS, in every shipped language, in 160 characters and the default segment limit', () => {
    // Measured as publishing measures a clinic's version: a 23-character display name (the legal name never
    // travels), the short link on a 25-character public URL, the clinic's phone, and each value at its
    // longest in that language (the longest month and weekday, time of day and count of days).
    const sender = {
      clinic: 'Riverside Family Clinic',
      phone: '(415) 555-0100',
      link: 'https://remind.clinic.org/m/AbCdEfGhIjKl',
    };
    const types: Record<string, FactType> = {
      deadline: 'date',
      januaryDeadline: 'date',
      renewalDueOn: 'date',
      reconsiderBy: 'date',
      appointmentDate: 'date',
      appointmentTime: 'time',
    };
    // Latin scripts whose catalogues keep to the GSM-7 alphabet: one segment, as the FCC's 160 allows.
    const gsm = ['en', 'es', 'ht', 'tl'];
    for (const language of supportedLanguages()) {
      for (const template of messageTemplates()) {
        const where = `${language}/${template}`;
        const source = JSON.stringify(readCatalogues()[language]![template]);
        for (const name of placeholders(source))
          assert.ok(
            SUPPLIED_VALUES.includes(name) || types[factOfValue(name)],
            `${where}: no type for {{${name}}}`,
          );
        const text = longestSms(template, language, { ...sender, types });
        const length = smsLength(text);
        assert.ok(
          [...text].length <= FCC_HEALTHCARE_MAX_CHARACTERS,
          `${where}: ${[...text].length} characters`,
        );
        assert.ok(length.segments <= settingsOf({}).smsMaxSegments, `${where}: ${length.segments} segments`);
        if (gsm.includes(language))
          assert.deepEqual([length.encoding, length.segments], ['GSM-7', 1], `${where}: ${text}`);
      }
    }
  });

  it('counts Chinese and Vietnamese messages as UCS-2: 70 characters alone, 67 a part', () => {
    const sms = (language: string, template: string) =>
      render({
        template,
        language,
        facts: { appointmentDate: '2027-12-15', appointmentTime: '09:30' },
        timeZone: 'America/New_York',
        now: Date.now(),
        clinic: 'Riverside Family Clinic',
        phone: '(415) 555-0100',
        link: 'https://remind.clinic.org/m/AbCdEfGhIjKl',
      }).sms;
    // 102 UTF-16 units: more than 70, at most 2 × 67.
    assert.deepEqual(smsLength(sms('zh-Hans', 'refill-due')), { encoding: 'UCS-2', units: 102, segments: 2 });
    assert.deepEqual(smsLength(sms('zh-Hant', 'appointment-reminder')), {
      encoding: 'UCS-2',
      units: 110,
      segments: 2,
    });
    // Vietnamese is Latin, but its tone marks (ạ, ế, ừ) are outside GSM-7: 143 units, 3 parts of 67.
    assert.deepEqual(smsLength(sms('vi', 'refill-due')), { encoding: 'UCS-2', units: 143, segments: 3 });
    assert.deepEqual(smsLength('ừ'.repeat(70)), { encoding: 'UCS-2', units: 70, segments: 1 });
    assert.deepEqual(smsLength('停'.repeat(134)), { encoding: 'UCS-2', units: 134, segments: 2 });
    assert.deepEqual(smsLength('停'.repeat(135)), { encoding: 'UCS-2', units: 135, segments: 3 });
  });
});

describe('time zones', () => {
  it('refuses an invalid zone where it is written and never treats it as inside the window', async () => {
    const { assertTimeZone } = await import('../../rules/time');
    const { nextInWindow } = await import('../../rules/sending');
    assert.throws(() => assertTimeZone('timeZone', 'Mars/Olympus'), /timeZone: must be an IANA time zone/);
    assert.doesNotThrow(() => assertTimeZone('timeZone', 'America/Chicago'));
    assert.throws(() => nextInWindow(Date.now(), 'Mars/Olympus'), /timeZone/);
  });
});
