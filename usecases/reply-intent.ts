// What a patient's SMS reply asks for. Pure: no I/O, so it is unit-tested on its own.
//
// A reply is a keyword only when the whole message is the keyword, in any case, with spaces and
// punctuation around it ("stop", " Stop! ", "OPT-OUT."): that is how carriers and Twilio read them, and it
// is what the FCC's 2024 rule lists. A keyword inside a sentence ("please stop texting me", "can I stop
// my refill?") is not acted on automatically: the rule asks for revocation by "any reasonable means", and a
// sentence may mean something else, so such a reply is flagged for the clinic's staff, who honour it. Every
// message tells the patient the exact word to send ("Reply STOP to opt out").
//
// Keywords are matched in every shipped language (the patient's first): an opt-out must never depend on
// the language on file. "CANCEL" alone is an opt-out (FCC); an appointment is cancelled only by "CANCEL
// APPT" (or "CANCELAR CITA"), which is never read as an opt-out.

import { matchKeyword, type Keyword } from '../locales/keywords';
import { supportedLanguages } from '../locales/languages';

export type ReplyIntent = 'stop' | 'start' | 'help' | 'confirm' | 'cancel' | 'done' | 'other';

const INTENT_OF: Record<Keyword, ReplyIntent> = {
  stop: 'stop',
  start: 'start',
  help: 'help',
  confirm: 'confirm',
  cancelAppointment: 'cancel',
  done: 'done',
};

export interface KeywordMatch {
  intent: ReplyIntent;
  /** The language whose keyword matched, if one did. */
  language?: string;
}

/**
 * The keyword a whole reply is (locales/<language>/keywords.json), in `language` first and then every other
 * shipped language. Anything else is `other` (see `readsAsStopWish` for the ones staff must see).
 */
export function matchReply(text: string, language = 'en'): KeywordMatch {
  for (const candidate of [language, ...supportedLanguages()]) {
    const keyword = matchKeyword(text, candidate);
    if (keyword) return { intent: INTENT_OF[keyword], language: candidate };
  }
  return { intent: 'other' };
}

/** Upper case, accents dropped, every run of anything but letters and digits one space: for the patterns. */
const tidy = (text: string) =>
  text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toUpperCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();

// Words that, in a sentence, plainly ask for the messages to stop.
const STOP_WISHES: readonly RegExp[] = [
  /\b(STOP|QUIT|CEASE)\b.*\b(TEXT|TEXTING|TEXTS|MESSAGE|MESSAGES|MESSAGING|SMS|CONTACT|CONTACTING|SENDING|REMINDERS?)\b/,
  /\b(STOP|STOPALL|UNSUBSCRIBE|REVOKE|OPT ?OUT)\b/,
  /\b(DON T|DONT|DO NOT|NEVER)\b.*\b(TEXT|MESSAGE|CONTACT|SEND|CALL)\b/,
  /\bNO MORE\b/,
  /\bREMOVE ME\b/,
  /\bTAKE ME OFF\b/,
  /\bLEAVE ME ALONE\b/,
  /\bWRONG NUMBER\b/,
  /\b(NO|NUNCA)\b.*\b(ME )?(ENVIE|ENVIEN|MANDE|MANDEN|ESCRIBA|ESCRIBAN|CONTACTE|CONTACTEN)\b/,
  /\bNO MAS\b/,
  /\b(DEJE|DEJEN|PAREN|PARE)\b/,
  /\b(PARAR|BAJA|DETENER|ALTO)\b/,
  /\bNO QUIERO\b.*\b(MENSAJES|TEXTOS|RECIBIR)\b/,
  /\bNUMERO EQUIVOCADO\b/,
];

/** A reply that is no keyword but reads as a wish to stop in other words: for the clinic's staff. */
export function readsAsStopWish(text: string): boolean {
  const reply = tidy(text);
  return STOP_WISHES.some((pattern) => pattern.test(reply));
}

/** What a reply is understood as, and whether staff must look at it. */
export function understandReply(text: string, language = 'en'): KeywordMatch & { flagged: boolean } {
  const match = matchReply(text, language);
  return { ...match, flagged: match.intent === 'other' && readsAsStopWish(text) };
}
