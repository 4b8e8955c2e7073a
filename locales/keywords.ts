// Inbound SMS keywords in the patient's language, beside the English ones every number understands:
// locales/<language>/keywords.json. A reply matches when, tidied, it is one of the words: "Stop.", " stop!"
// and "STOP" alike; "parar" and "PARAR"; "dung" and "DỪNG".
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_LANGUAGE, languageChain, localesDir } from './languages';

/**
 * In the order a reply is tested: an opt-out wins over anything it could also mean. Bare CANCEL is an
 * opt-out (FCC 2024), so cancelling an appointment takes two words (CANCEL APPT).
 */
export const KEYWORDS = ['stop', 'start', 'help', 'cancelAppointment', 'confirm', 'done'] as const;
export type Keyword = (typeof KEYWORDS)[number];

const byLanguage = new Map<string, Record<Keyword, string[]>>();

/** The keywords of one shipped language, as its keywords.json writes them. */
export function keywordsFor(language: string): Record<Keyword, string[]> {
  let words = byLanguage.get(language);
  if (!words) {
    words = JSON.parse(fs.readFileSync(path.join(localesDir, language, 'keywords.json'), 'utf8')) as Record<
      Keyword,
      string[]
    >;
    byLanguage.set(language, words);
  }
  return words;
}

/**
 * Case, spacing, punctuation and symbols (emoji included) do not count, nor accents on Latin letters and
 * short vowels on Arabic ones, which phones and people often leave out. Marks in other scripts are letters
 * (a Devanagari vowel sign, a Korean syllable's parts) and stay.
 */
export function normaliseReply(text: string): string {
  return text
    .normalize('NFD')
    .replace(/(?<=[\p{Script=Latin}\p{Script=Arabic}])\p{M}+/gu, '')
    .replace(/\u0640/g, '') // Arabic tatweel, a stretch of the line between letters
    .normalize('NFC')
    .toLocaleLowerCase('und')
    .replace(/[\p{P}\p{S}\s]+/gu, ' ')
    .trim();
}

/** What an inbound reply asks for, in the patient's language (a BCP 47 tag) or English; else undefined. */
export function matchKeyword(text: string, language: string): Keyword | undefined {
  const reply = normaliseReply(text);
  if (reply === '') return undefined;
  const { chain, own } = languageChain(language);
  const languages = [...new Set([...chain.slice(0, own), DEFAULT_LANGUAGE])];
  return KEYWORDS.find((keyword) =>
    languages.some((candidate) =>
      keywordsFor(candidate)[keyword].some((word) => normaliseReply(word) === reply),
    ),
  );
}
