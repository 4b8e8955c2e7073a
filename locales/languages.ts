// Which shipped language a patient reads, from a BCP 47 tag: its own chain first (zh-Hant-TW → zh-Hant),
// then the clinic's default language, then English. Chinese scripts never stand in for each other.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const localesDir = path.dirname(fileURLToPath(import.meta.url));
export const DEFAULT_LANGUAGE = 'en';

let shipped: string[] | undefined;

/** Every language with a catalogue under locales/, by its directory name (a BCP 47 tag). */
export function supportedLanguages(): string[] {
  shipped ??= fs
    .readdirSync(localesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return shipped;
}

// Tags people still send that name a language we ship under another tag. Intl already maps iw → he,
// in → id and ji → yi, and tl → fil (which we ship as tl); Cantonese is written in Traditional characters.
const ALIASES: Record<string, string> = { fil: 'tl', yue: 'zh-Hant' };

/** The tags a BCP 47 tag may be served by, most specific first; none for a tag that is not BCP 47. */
export function languageCandidates(tag: string): string[] {
  let locale: Intl.Locale;
  try {
    locale = new Intl.Locale(Intl.getCanonicalLocales(tag)[0]!);
  } catch {
    return [];
  }
  // Plain strings from here: Intl would turn tl back into fil.
  let { language, script } = locale as { language: string; script?: string };
  const { region } = locale;
  const alias = ALIASES[language];
  if (alias) [language, script = script] = alias.split('-') as [string, string?];
  // zh-TW means Traditional and zh means Simplified: the script comes from the tag, or its likely one.
  script ??= locale.maximize().script;
  // A shorter tag serves only when it is written in the same script (never zh-Hant → zh, which is Hans).
  const sameScript = (shorter: string) => new Intl.Locale(shorter).maximize().script === script;
  const candidates = [
    region && script ? `${language}-${script}-${region}` : undefined,
    region && sameScript(`${language}-${region}`) ? `${language}-${region}` : undefined,
    script ? `${language}-${script}` : undefined,
    sameScript(language) ? language : undefined,
  ];
  return [...new Set(candidates.filter((candidate) => candidate !== undefined))];
}

export interface LanguageChain {
  /** Shipped languages to try in order: the patient's own, the clinic's default, English. */
  chain: string[];
  /** How many of them are the patient's own language (choosing one after these is a fallback). */
  own: number;
}

export function languageChain(tag: string, clinicDefault: string = DEFAULT_LANGUAGE): LanguageChain {
  const available = (candidate: string) => supportedLanguages().includes(candidate);
  const own = languageCandidates(tag).filter(available);
  const chain = [
    ...new Set([...own, ...languageCandidates(clinicDefault).filter(available), DEFAULT_LANGUAGE]),
  ];
  return { chain, own: own.length };
}

/** The shipped language a tag names itself, without falling back; undefined if there is none. */
export function shippedLanguage(tag: string): string | undefined {
  const { chain, own } = languageChain(tag);
  return own > 0 ? chain[0] : undefined;
}

const RIGHT_TO_LEFT = new Set(['ar', 'he', 'fa', 'ur', 'ps', 'yi', 'dv', 'sd', 'ug', 'ckb']);

export function textDirection(language: string): 'rtl' | 'ltr' {
  return RIGHT_TO_LEFT.has(language.split('-')[0]!.toLowerCase()) ? 'rtl' : 'ltr';
}

/**
 * A name, number or link inside right-to-left text, between Unicode first-strong and pop directional
 * isolates (U+2068, U+2069), so "(415) 555-0100" or a Latin clinic name keeps its own order and does not
 * reorder the Arabic around it. Left-to-right text is returned as it is.
 */
export function isolate(value: string, language: string): string {
  return textDirection(language) === 'rtl' && value !== '' ? `\u2068${value}\u2069` : value;
}
