// Message catalogues: locales/<language>/<namespace>.json, loaded once per process. A message is rendered
// wholly in one language, the first of the patient's chain that has every text it needs: never English
// words inside a Spanish message because one key was missing.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import i18next, { type i18n, type ResourceLanguage, type TFunction } from 'i18next';
import { templatesOf, type FactType, type JourneyDefinition, type TemplateTexts } from '../journeys/schema';
import { factOfValue, factValues, formatDate, formatTime } from './format';
import { DEFAULT_LANGUAGE, isolate, languageChain, localesDir, supportedLanguages } from './languages';

export { displayPhone } from './format';
export { keywordsFor, matchKeyword, type Keyword } from './keywords';
export {
  DEFAULT_LANGUAGE,
  isolate,
  languageCandidates,
  languageChain,
  shippedLanguage,
  supportedLanguages,
  textDirection,
} from './languages';

/** Files beside the catalogues that are not messages: who wrote them, and inbound keywords. */
const NOT_MESSAGES = new Set(['_meta', 'keywords']);

/** A clinic's own texts for one template, by shipped language. */
export type ClinicTexts = Record<string, TemplateTexts>;

const MESSAGE_KEYS = ['sms', 'email.subject', 'email.text'] as const;
type MessageKey = (typeof MESSAGE_KEYS)[number];
export const REPLY_KINDS = ['stopConfirmation', 'startConfirmation', 'help'] as const;
export type ReplyKind = (typeof REPLY_KINDS)[number];

const overrideOf = (texts: TemplateTexts | undefined, key: MessageKey): string | undefined =>
  key === 'sms' ? texts?.sms : key === 'email.subject' ? texts?.email?.subject : texts?.email?.text;

/** The message namespaces of a language: file name without .json → its texts. */
function catalogue(language: string): ResourceLanguage {
  const dir = path.join(localesDir, language);
  return Object.fromEntries(
    fs
      .readdirSync(dir)
      .filter((file) => file.endsWith('.json') && !NOT_MESSAGES.has(path.basename(file, '.json')))
      .map((file) => [
        path.basename(file, '.json'),
        JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as ResourceLanguage,
      ]),
  );
}

export interface RenderRequest {
  template: string;
  /** The patient's language, a BCP 47 tag. */
  language: string;
  /** The clinic's default language, tried after the patient's own. */
  clinicLanguage?: string;
  /** The clinic's own texts for this template, from its journey version. */
  texts?: ClinicTexts;
  /** Values the template may show: dates (YYYY-MM-DD) and times (HH:MM) are written for the language. */
  facts: Record<string, string>;
  timeZone: string;
  /** The moment of sending: "12 days left" counts from its day in the patient's zone. */
  now: number;
  /** The clinic's display name (never a legal name that may disclose a condition). */
  clinic: string;
  /** The clinic's phone as patients dial it, if it has one. */
  phone?: string;
  /** The secure pickup link. */
  link: string;
}

export interface RenderedMessage {
  /** The shipped language every word of the message is in. */
  language: string;
  /** True when that is not the patient's own language (the clinic's default, or English). */
  fallback: boolean;
  sms: string;
  subject: string;
  text: string;
}

let shared: i18n | undefined;

/** One i18next instance over every catalogue; rendering only reads it. */
function catalogues(): i18n {
  if (shared) return shared;
  shared = i18next.createInstance();
  void shared.init({
    resources: Object.fromEntries<ResourceLanguage>(
      supportedLanguages().map((language) => [language, catalogue(language)]),
    ),
    // Resources are in memory: init completes before it returns.
    initAsync: false,
    // Never a per-key fallback: completeness is checked per message, and the whole message falls back.
    fallbackLng: false,
    load: 'currentOnly',
    // Messages are plain text (SMS, text email), never HTML.
    interpolation: { escapeValue: false },
    returnNull: false,
    showSupportNotice: false,
  });
  return shared;
}

const has = (language: string, key: string, count?: number) =>
  catalogues().exists(key, { lng: language, ...(count === undefined ? {} : { count }) });

/** "12 days left", in the language's plural form for 12. */
const daysLeft = (language: string, count: number) =>
  catalogues().t('common:daysLeft', { lng: language, count });

function contact(language: string, phone: string | undefined): string {
  // The FCC's healthcare exemption asks for the sender's contact in every message.
  return phone ? catalogues().t('common:contact', { lng: language, phone: isolate(phone, language) }) : '';
}

/** The clinic's name, phone and link as every message shows them. */
const senderValues = (language: string, sender: Pick<RenderRequest, 'clinic' | 'phone' | 'link'>) => ({
  clinic: isolate(sender.clinic, language),
  link: isolate(sender.link, language),
  contact: contact(language, sender.phone),
});

/** One text of a template in a language: the clinic's own if it wrote one, else the catalogue's. */
function templateText(
  language: string,
  template: string,
  key: MessageKey,
  values: Record<string, string>,
  texts: ClinicTexts | undefined,
): string {
  const own = overrideOf(texts?.[language], key);
  return own === undefined
    ? catalogues().t(`${template}:${key}`, { lng: language, ...values })
    : catalogues().services.interpolator.interpolate(own, values, language, {});
}

/** Whether a language has the SMS, email subject and email text of a template (the clinic's or its own). */
const hasTexts = (language: string, template: string, texts: ClinicTexts | undefined) =>
  MESSAGE_KEYS.every(
    (key) => overrideOf(texts?.[language], key) !== undefined || has(language, `${template}:${key}`),
  );

/** Whether a language has every text a template's message needs, the contact line and day counts too. */
const complete = (language: string, template: string, texts: ClinicTexts | undefined) =>
  has(language, 'common:contact') &&
  has(language, 'common:daysLeft', 5) &&
  hasTexts(language, template, texts);

/** The first language of the patient's chain that has every text, and whether it is a fallback. */
function choose(
  request: Pick<RenderRequest, 'language' | 'clinicLanguage'>,
  usable: (language: string) => boolean,
) {
  const { chain, own } = languageChain(request.language, request.clinicLanguage);
  const index = chain.findIndex(usable);
  // English has every text (npm test checks the catalogues; publishing checks a clinic's templates).
  if (index < 0) throw new Error(`no language has every text (tried ${chain.join(', ')})`);
  return { language: chain[index]!, fallback: index >= own };
}

export function render(request: RenderRequest): RenderedMessage {
  const { language, fallback } = choose(request, (candidate) =>
    complete(candidate, request.template, request.texts),
  );
  const values = {
    ...factValues(request.facts, {
      language,
      timeZone: request.timeZone,
      now: request.now,
      daysLeft: (count) => daysLeft(language, count),
    }),
    ...senderValues(language, request),
  };
  const text = (key: MessageKey) => templateText(language, request.template, key, values, request.texts);
  return { language, fallback, sms: text('sms'), subject: text('email.subject'), text: text('email.text') };
}

/** An answer to an inbound STOP, START or HELP, in the patient's language. */
export function renderReply(
  kind: ReplyKind,
  request: Pick<RenderRequest, 'language' | 'clinicLanguage' | 'clinic' | 'phone'>,
): { language: string; fallback: boolean; text: string } {
  const { language, fallback } = choose(
    request,
    (candidate) => has(candidate, `replies:${kind}`) && has(candidate, 'common:contact'),
  );
  const text = catalogues().t(`replies:${kind}`, {
    lng: language,
    clinic: isolate(request.clinic, language),
    contact: contact(language, request.phone),
  });
  return { language, fallback, text };
}

/**
 * The words of a page (the pickup page, the unsubscribe page) in the first language of the chain that has
 * all of the namespace's texts.
 */
export function pageTexts(
  namespace: string,
  request: Pick<RenderRequest, 'language' | 'clinicLanguage'>,
): { t: TFunction; language: string; fallback: boolean } {
  const bundle = catalogues().getResourceBundle(DEFAULT_LANGUAGE, namespace) as object | undefined;
  const english = leafKeys(bundle ?? {});
  const { language, fallback } = choose(request, (candidate) =>
    english.every(({ key, plural }) =>
      plural
        ? [1, 5].every((count) => has(candidate, `${namespace}:${key}`, count))
        : has(candidate, `${namespace}:${key}`),
    ),
  );
  return { t: catalogues().getFixedT(language, namespace), language, fallback };
}

/** The dotted keys of a namespace's texts; plural forms by their base key, which a count resolves. */
function leafKeys(texts: object, prefix = ''): { key: string; plural: boolean }[] {
  const keys = Object.entries(texts).flatMap(([key, value]): { key: string; plural: boolean }[] => {
    if (value && typeof value === 'object') return leafKeys(value as object, `${prefix}${key}.`);
    const base = key.replace(/_(zero|one|two|few|many|other)$/, '');
    return [{ key: `${prefix}${base}`, plural: base !== key }];
  });
  return keys.filter((entry, index) => keys.findIndex((other) => other.key === entry.key) === index);
}

export interface Translator {
  render: typeof render;
  renderReply: typeof renderReply;
}

/** The catalogues, loaded; what activities are given. */
export function createTranslator(): Promise<Translator> {
  catalogues();
  return Promise.resolve({ render, renderReply });
}

/** The message templates English has (every shipped language has the same, npm test checks). */
export function messageTemplates(): string[] {
  return Object.keys(catalogue(DEFAULT_LANGUAGE))
    .filter((namespace) => has(DEFAULT_LANGUAGE, `${namespace}:sms`))
    .sort();
}

/**
 * `<language>/<template>` for each language in which a template lacks a text (SMS, email subject, email
 * text), counting the clinic's own: a message in that language could not be written wholly in it.
 */
export function missingTexts(template: string, texts?: ClinicTexts): string[] {
  return supportedLanguages()
    .filter((language) => !hasTexts(language, template, texts))
    .map((language) => `${language}/${template}`);
}

/** Values every message gets from the send path itself; any other `{{name}}` must come with the enrollment. */
export const SUPPLIED_VALUES = ['clinic', 'link', 'contact'];

const PLACEHOLDER = /\{\{\s*(\w+)\s*(?:,[^}]*)?\}\}/g;

/** The `{{name}}`s a text uses. */
export const placeholders = (text: string): string[] =>
  [...text.matchAll(PLACEHOLDER)].map((match) => match[1]!);

const valuesByTemplate = new Map<string, string[]>();

/** The `{{name}}`s a template uses in any shipped language; read once per process. */
function templateValues(template: string): string[] {
  let names = valuesByTemplate.get(template);
  if (!names) {
    names = supportedLanguages().flatMap((language) => {
      const file = path.join(localesDir, language, `${template}.json`);
      return fs.existsSync(file) ? placeholders(fs.readFileSync(file, 'utf8')) : [];
    });
    valuesByTemplate.set(template, names);
  }
  return names;
}

/** Every text a clinic wrote in a journey version's `texts`. */
export function clinicTextsOf(journey: Pick<JourneyDefinition, 'texts'>): string[] {
  return Object.values(journey.texts ?? {})
    .flatMap((byTemplate) => Object.values(byTemplate))
    .flatMap((texts) => [texts.sms, texts.email?.subject, texts.email?.text])
    .filter((text) => text !== undefined);
}

/**
 * Why an enrollment with these facts is refused, or undefined: a value a template (or the clinic's own
 * text) uses that the send path does not supply and `facts` does not give would be rendered as an empty
 * gap. `deadlineDaysLeft` is given by `deadline`.
 */
export function missingValuesProblem(
  journey: Pick<JourneyDefinition, 'key' | 'steps' | 'texts'>,
  facts: Record<string, string>,
): string | undefined {
  const missing = factsUsed(journey).filter((name) => facts[name] === undefined);
  return missing.length > 0 ? `facts: ${journey.key} needs ${missing.join(', ')}` : undefined;
}

// Every enrollment asks, and the answer is the journey's own: worked out once per definition read.
const factsUsedBy = new WeakMap<object, string[]>();

/** The facts a journey's texts show that the send path does not supply, sorted. */
function factsUsed(journey: Pick<JourneyDefinition, 'steps' | 'texts'>): string[] {
  let names = factsUsedBy.get(journey);
  if (!names) {
    const used = [
      ...templatesOf(journey).flatMap(templateValues),
      ...clinicTextsOf(journey).flatMap(placeholders),
    ]
      .map(factOfValue)
      .filter((name) => !SUPPLIED_VALUES.includes(name));
    names = [...new Set(used)].sort();
    factsUsedBy.set(journey, names);
  }
  return names;
}

// Dates on every weekday of every month with a two-digit day, every hour of the day, counts of days up to
// a year: the longest of each is what an SMS must have room for.
const SAMPLE_DATES = Array.from({ length: 12 * 7 }, (_, index) => {
  const month = String(Math.floor(index / 7) + 1).padStart(2, '0');
  return `2027-${month}-${22 + (index % 7)}`;
});
const SAMPLE_TIMES = Array.from({ length: 24 }, (_, hour) => `${String(hour).padStart(2, '0')}:30`);
// Integers and text facts cannot be known ahead: measured at 4 digits and 20 characters.
const SAMPLE_OTHER: Record<Exclude<FactType, 'date' | 'time'>, string> = {
  integer: '9999',
  boolean: 'false',
  text: 'x'.repeat(20),
};

const longest = (texts: string[]) => texts.reduce((a, b) => (b.length > a.length ? b : a), '');

/**
 * The SMS of a template in one language at its longest: with the clinic's name, phone and link, and each
 * value it shows at the longest the language writes it (the longest month, weekday, time, count of days).
 * The publish check and the length test measure the same thing.
 */
export function longestSms(
  template: string,
  language: string,
  options: Pick<RenderRequest, 'clinic' | 'phone' | 'link' | 'texts'> & {
    /** The journey's facts and anchor, by type. */
    types: Record<string, FactType>;
  },
): string {
  const source =
    options.texts?.[language]?.sms ?? String(catalogues().getResource(language, template, 'sms') ?? '');
  const values: Record<string, string> = {};
  for (const name of placeholders(source)) {
    const type = options.types[factOfValue(name)];
    if (type === undefined || SUPPLIED_VALUES.includes(name)) continue;
    values[name] =
      type === 'date'
        ? name.endsWith('DaysLeft')
          ? longest(Array.from({ length: 366 }, (_, count) => daysLeft(language, count)))
          : longest(SAMPLE_DATES.map((date) => formatDate(date, language, name.endsWith('WithWeekday'))))
        : type === 'time'
          ? longest(SAMPLE_TIMES.map((time) => formatTime(time, language)))
          : SAMPLE_OTHER[type];
  }
  return templateText(
    language,
    template,
    'sms',
    { ...values, ...senderValues(language, options) },
    options.texts,
  );
}

const versions = new Map<string, string>();

/**
 * The version of a template's text in one language: a short hash of the catalogue entries a message
 * is rendered from (the template's file and the shared common.json), so the archive can say which
 * wording went out after the catalogues change.
 */
export function templateVersion(template: string, language: string): string {
  const key = `${language}/${template}`;
  let version = versions.get(key);
  if (!version) {
    const hash = createHash('sha256');
    for (const file of [`${template}.json`, 'common.json']) {
      const full = path.join(localesDir, language, file);
      hash.update(`${file}\n`).update(fs.existsSync(full) ? fs.readFileSync(full) : '');
    }
    version = hash.digest('hex').slice(0, 12);
    versions.set(key, version);
  }
  return version;
}
