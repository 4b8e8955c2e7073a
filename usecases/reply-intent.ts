// What a patient's SMS reply asks for. Pure: no I/O, so it is unit-tested on its own.
//
// A reply is a keyword only when the whole message is the keyword, in any case, with spaces and
// punctuation around it ("stop", " Stop! ", "OPT-OUT."): that is how carriers and Twilio read them, and it
// is what the FCC's 2024 rule lists. A keyword inside a sentence ("please stop texting me", "can I stop
// my refill?") is not acted on automatically: the rule asks for revocation by "any reasonable means", and a
// sentence may mean something else, so such a reply is flagged for the clinic's staff, who honour it. Every
// message tells the patient the exact word to send ("Reply STOP to opt out").
//
// Keywords are matched in every supported language at once (a Spanish speaker may send STOP, an English
// one BAJA): an opt-out must never depend on the language on file. "CANCEL" alone is an opt-out (FCC); an
// appointment is cancelled only by "CANCEL APPT" (or "CANCELAR CITA"), which is never read as an opt-out.

export type ReplyIntent = 'stop' | 'start' | 'help' | 'confirm' | 'cancel' | 'done' | 'other';

/** Per language, the keyword sets by the names the locale catalogues use (keywords.json). */
export const KEYWORDS: Record<string, Record<KeywordKey, readonly string[]>> = {
  en: {
    stop: [
      'STOP',
      'STOPALL',
      'STOP ALL',
      'UNSUBSCRIBE',
      'CANCEL',
      'END',
      'QUIT',
      'REVOKE',
      'OPT OUT',
      'OPTOUT',
    ],
    start: ['START', 'UNSTOP', 'YES'],
    help: ['HELP', 'INFO'],
    confirm: ['CONFIRM', 'CONFIRMED'],
    cancelAppointment: ['CANCEL APPT', 'CANCEL APPOINTMENT'],
    done: ['DONE'],
  },
  es: {
    stop: ['PARAR', 'ALTO', 'BAJA', 'CANCELAR', 'DETENER'],
    start: ['INICIAR', 'SI'],
    help: ['AYUDA'],
    confirm: ['CONFIRMAR', 'CONFIRMO'],
    cancelAppointment: ['CANCELAR CITA'],
    done: ['LISTO', 'HECHO'],
  },
};

export type KeywordKey = 'stop' | 'start' | 'help' | 'confirm' | 'cancelAppointment' | 'done';

const INTENT_OF: Record<KeywordKey, ReplyIntent> = {
  stop: 'stop',
  start: 'start',
  help: 'help',
  confirm: 'confirm',
  cancelAppointment: 'cancel',
  done: 'done',
};

/** Upper case, accents dropped, every run of anything but letters and digits one space, trimmed. */
export function normaliseReply(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toUpperCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

export interface KeywordMatch {
  intent: ReplyIntent;
  /** The language whose keyword matched, if one did. */
  language?: string;
}

/**
 * The keyword a whole reply is, in `language` first and then every other language. Anything else is
 * `other` (see `readsAsStopWish` for the ones staff must see).
 */
export function matchKeyword(text: string, language = 'en'): KeywordMatch {
  const reply = normaliseReply(text);
  // Without separators too: "OPT-OUT" and "OPTOUT", "STOP ALL" and "STOPALL".
  const squeezed = reply.replace(/ /g, '');
  const languages = [language, ...Object.keys(KEYWORDS).filter((other) => other !== language)];
  for (const candidate of languages) {
    const table = KEYWORDS[candidate];
    if (!table) continue;
    for (const key of Object.keys(table) as KeywordKey[]) {
      for (const keyword of table[key]) {
        if (reply === keyword || (keyword.includes(' ') && squeezed === keyword.replace(/ /g, '')))
          return { intent: INTENT_OF[key], language: candidate };
      }
    }
  }
  return { intent: 'other' };
}

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
  const reply = normaliseReply(text);
  return STOP_WISHES.some((pattern) => pattern.test(reply));
}

/** What a reply is understood as, and whether staff must look at it. */
export function understandReply(text: string, language = 'en'): KeywordMatch & { flagged: boolean } {
  const match = matchKeyword(text, language);
  return { ...match, flagged: match.intent === 'other' && readsAsStopWish(text) };
}
