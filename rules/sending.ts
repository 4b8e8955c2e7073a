// When a send may happen, in the patient's own time zone: the clinic's sending window (quiet hours outside
// it) and frequency caps across all of a patient's journeys. A send that may not happen now is deferred to
// the earliest allowed minute, never dropped. Pure functions of their inputs, so they are tested directly.
import { DateTime } from 'luxon';
import { CarebellError } from '../domain/errors';
import type { Category, Channel } from '../domain/messaging';

export interface SendingWindow {
  /** Local time sends may start, HH:MM (default 08:00). */
  opens: string;
  /** Local time sends must stop, HH:MM (default 21:00). */
  closes: string;
}

export interface FrequencyCaps {
  perDay: number;
  perWeek: number;
}

export const DEFAULT_WINDOW: SendingWindow = { opens: '08:00', closes: '21:00' };
export const DEFAULT_CAPS: FrequencyCaps = { perDay: 1, perWeek: 3 };

const WEEK_MS = 7 * 24 * 3600 * 1000;
const CLOCK_SKEW_MS = 60_000;

function atLocalTime(day: DateTime, hhmm: string): DateTime {
  const [hour, minute] = hhmm.split(':').map(Number) as [number, number];
  return day.set({ hour, minute, second: 0, millisecond: 0 });
}

/** The first instant at or after `at` that lies inside the sending window, in `zone`. */
export function nextInWindow(at: number, zone: string, window: SendingWindow = DEFAULT_WINDOW): number {
  const local = DateTime.fromMillis(at, { zone });
  // An invalid zone gives NaN times, which would pass every comparison below: never send on one.
  if (!local.isValid)
    throw new CarebellError('InvalidInput', `timeZone: ${local.invalidReason ?? 'invalid'}`);
  const opens = atLocalTime(local, window.opens);
  const closes = atLocalTime(local, window.closes);
  if (local < opens) return opens.toMillis();
  if (local >= closes) return atLocalTime(local.plus({ days: 1 }), window.opens).toMillis();
  return at;
}

/**
 * Whether one more send at `at` stays within the caps, given the patient's earlier sends (epoch ms, any
 * journey). A day is the patient's local calendar day; a week is the 7 × 24 h before `at`.
 */
export function capsAllow(
  at: number,
  zone: string,
  previous: number[],
  caps: FrequencyCaps = DEFAULT_CAPS,
): { ok: true } | { ok: false; retryAt: number } {
  const local = DateTime.fromMillis(at, { zone });
  const dayStart = local.startOf('day').toMillis();
  const nextDay = local.plus({ days: 1 }).startOf('day').toMillis();
  // Sends from other journeys may carry a due time a moment after this one (their clocks ran a little
  // ahead); a send the same day counts whichever came first.
  const sameDay = previous.filter((sent) => sent >= dayStart && sent < nextDay);
  if (sameDay.length >= caps.perDay)
    return { ok: false, retryAt: local.plus({ days: 1 }).startOf('day').toMillis() };
  const inWeek = previous
    .filter((sent) => sent > at - WEEK_MS && sent <= at + CLOCK_SKEW_MS)
    .sort((a, b) => a - b);
  if (inWeek.length >= caps.perWeek) {
    // When enough of them have left the window for one more.
    return { ok: false, retryAt: inWeek[inWeek.length - caps.perWeek]! + WEEK_MS + 1 };
  }
  return { ok: true };
}

/** The earliest instant at or after `at` that is inside the window and within the caps. */
export function earliestAllowedSend(
  at: number,
  zone: string,
  previous: number[],
  window: SendingWindow = DEFAULT_WINDOW,
  caps: FrequencyCaps = DEFAULT_CAPS,
): number {
  let candidate = at;
  // Each round moves forward by at least a window opening or a cap expiry; a few rounds always settle it.
  for (let round = 0; round < 20; round++) {
    const inWindow = nextInWindow(candidate, zone, window);
    const decision = capsAllow(inWindow, zone, previous, caps);
    if (decision.ok) return inWindow;
    candidate = decision.retryAt;
  }
  throw new Error('no allowed send time found within 20 rounds: check the window and caps');
}

/**
 * The earlier sends (epoch ms) a send of `category` counts against the caps. Transactional comes first
 * when they collide: a transactional message is never held back by marketing ones, and a marketing one
 * also counts the transactional sends the patient's journeys plan, so it gives way to them that day.
 */
export function sendsCountedForCaps(
  category: Category,
  sent: { at: number; category: Category }[],
  plannedTransactional: number[] = [],
): number[] {
  if (category === 'transactional')
    return sent.filter((send) => send.category === 'transactional').map((send) => send.at);
  return [...sent.map((send) => send.at), ...plannedTransactional];
}

/** Which channels to try, in order: a step's explicit list, or the preferred channel then the other. */
export function channelOrder(
  preferred: Channel,
  requested: 'preferred' | Channel[] = 'preferred',
): Channel[] {
  if (requested !== 'preferred') return requested;
  return [preferred, preferred === 'sms' ? 'email' : 'sms'];
}

// The FCC's conditions for healthcare messages sent without prior express consent, and the TCPA's
// calling hours: a clinic may be stricter, never looser.
const WIDEST_WINDOW: SendingWindow = DEFAULT_WINDOW;
const MOST_TRANSACTIONAL: FrequencyCaps = { perDay: 1, perWeek: 3 };

/**
 * States whose telephone-solicitation laws allow fewer hours than the TCPA (marketing only): Florida,
 * Oklahoma, Maryland, Alabama, Louisiana, Mississippi and Washington 08:00-20:00, Connecticut
 * 09:00-20:00, Texas 09:00-21:00 (noon on Sundays, not modelled: a Sunday send may still wait until
 * the clinic's own window opens). Counsel should review this table yearly.
 */
export const MARKETING_STATE_WINDOWS: Record<string, SendingWindow> = {
  FL: { opens: '08:00', closes: '20:00' },
  OK: { opens: '08:00', closes: '20:00' },
  MD: { opens: '08:00', closes: '20:00' },
  AL: { opens: '08:00', closes: '20:00' },
  LA: { opens: '08:00', closes: '20:00' },
  MS: { opens: '08:00', closes: '20:00' },
  WA: { opens: '08:00', closes: '20:00' },
  CT: { opens: '09:00', closes: '20:00' },
  TX: { opens: '09:00', closes: '21:00' },
};

const later = (a: string, b: string) => (a > b ? a : b);
const earlier = (a: string, b: string) => (a < b ? a : b);
const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

/** The two-letter state of a US postal address written the usual way ("…, Miami, FL 33101"). */
export function usState(postalAddress: string | undefined): string | undefined {
  return postalAddress?.match(/\b([A-Z]{2})\s+\d{5}(?:-\d{4})?\s*(?:,?\s*(?:USA?|United States))?\s*$/)?.[1];
}

/**
 * The window a send must fall in: the clinic's, never wider than 08:00-21:00, and for marketing never
 * wider than the patient's state allows. A malformed stored time falls back to the widest legal bound.
 */
export function effectiveWindow(
  clinic: SendingWindow,
  category: Category,
  state: string | undefined,
): SendingWindow {
  let window = {
    opens: later(HHMM.test(clinic.opens) ? clinic.opens : WIDEST_WINDOW.opens, WIDEST_WINDOW.opens),
    closes: earlier(HHMM.test(clinic.closes) ? clinic.closes : WIDEST_WINDOW.closes, WIDEST_WINDOW.closes),
  };
  const stateWindow = category === 'marketing' && state ? MARKETING_STATE_WINDOWS[state] : undefined;
  if (stateWindow)
    window = {
      opens: later(window.opens, stateWindow.opens),
      closes: earlier(window.closes, stateWindow.closes),
    };
  return window;
}

/** The clinic's caps; for transactional messages never above the FCC's 1 a day and 3 a week. */
export function effectiveCaps(clinic: FrequencyCaps, category: Category): FrequencyCaps {
  const sane = (value: number, fallback: number) =>
    Number.isInteger(value) && value >= 0 ? value : fallback;
  const caps = { perDay: sane(clinic.perDay, 1), perWeek: sane(clinic.perWeek, 3) };
  if (category === 'marketing') return caps;
  return {
    perDay: Math.min(caps.perDay, MOST_TRANSACTIONAL.perDay),
    perWeek: Math.min(caps.perWeek, MOST_TRANSACTIONAL.perWeek),
  };
}

export interface Route {
  channel: Channel;
  address: string;
  /** Keyed hash of the address: the suppression list and per-destination caps are keyed by it. */
  addressIndex: string;
}

export interface EarlierSend {
  at: number;
  category: Category;
  addressIndex: string | null;
  /** This patient's own send (else another patient's, to an address they share). */
  mine: boolean;
}

export interface SendFacts {
  /** The moment of this attempt, not when the step was due. */
  now: number;
  category: Category;
  patient: { status: 'active' | 'inactive' | 'deceased'; timeZone: string };
  /** Channels to try, in order (already restricted to the step's or the patient's preference). */
  order: Channel[];
  /** The patient's contact points. */
  contacts: Route[];
  /** Address indexes on the clinic's suppression list. */
  suppressed: Set<string>;
  consentAllows: (channel: Channel, category: Category) => boolean;
  window: SendingWindow;
  caps: FrequencyCaps;
  /** The patient's sends and those to any of its addresses (other patients sharing a phone), in flight included. */
  earlier: EarlierSend[];
  /** Transactional sends the patient's journeys plan, which marketing gives way to. */
  plannedTransactional: number[];
}

export type SuppressReason =
  | 'patient-inactive'
  | 'patient-deceased'
  | 'no-contact-point'
  | 'suppressed-address'
  | 'no-marketing-consent'
  | 'opted-out';

export type SendDecision =
  | { kind: 'send'; routes: Route[] }
  | { kind: 'defer'; until: number; reason: 'quiet-hours' | 'frequency-cap' }
  | { kind: 'suppress'; reason: SuppressReason };

/**
 * The one decision every message goes through (reminders, journey steps and the preview alike), in the
 * order the rules rank: who the patient is, where they can be reached, what they agreed to, then when.
 */
export function decideSend(facts: SendFacts): SendDecision {
  if (facts.patient.status !== 'active')
    return { kind: 'suppress', reason: `patient-${facts.patient.status}` };
  const reachable = facts.order.flatMap((channel) =>
    facts.contacts.filter((contact) => contact.channel === channel).slice(0, 1),
  );
  if (reachable.length === 0) return { kind: 'suppress', reason: 'no-contact-point' };
  const usable = reachable.filter((route) => !facts.suppressed.has(route.addressIndex));
  if (usable.length === 0) return { kind: 'suppress', reason: 'suppressed-address' };
  const routes = usable.filter((route) => facts.consentAllows(route.channel, facts.category));
  if (routes.length === 0)
    return {
      kind: 'suppress',
      reason: facts.category === 'marketing' ? 'no-marketing-consent' : 'opted-out',
    };

  const zone = facts.patient.timeZone;
  const counted = (sends: EarlierSend[]) =>
    sendsCountedForCaps(facts.category, sends, facts.plannedTransactional);
  const destination = routes[0]!.addressIndex;
  const mine = facts.earlier.filter((send) => send.mine);
  const toDestination = facts.earlier.filter((send) => send.addressIndex === destination);
  // Allowed for the patient and for the destination at once: alternate until both agree.
  let earliest = facts.now;
  for (let round = 0; round < 10; round++) {
    const forPatient = earliestAllowedSend(earliest, zone, counted(mine), facts.window, facts.caps);
    earliest = earliestAllowedSend(forPatient, zone, counted(toDestination), facts.window, facts.caps);
    if (earliest === forPatient) break;
  }
  if (earliest > facts.now) {
    const reason = nextInWindow(facts.now, zone, facts.window) > facts.now ? 'quiet-hours' : 'frequency-cap';
    return { kind: 'defer', until: earliest, reason };
  }
  return { kind: 'send', routes };
}
