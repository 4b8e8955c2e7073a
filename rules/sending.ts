// When a send may happen, in the patient's own time zone: the clinic's sending window (quiet hours outside
// it) and frequency caps across all of a patient's journeys. A send that may not happen now is deferred to
// the earliest allowed minute, never dropped. Pure functions of their inputs, so they are tested directly.
import { DateTime } from 'luxon';
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
