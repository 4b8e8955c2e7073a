// Time in the patient's zone, as epoch milliseconds for workflows (which may not do zone arithmetic).
import { DateTime, Duration, IANAZone } from 'luxon';
import { CarebellError } from '../domain/errors';
import { openingWait, waitAnchorDate, type JourneyInput } from '../domain/journey';
import type { JourneyDefinition } from '../journeys/schema';

/** A signed ISO-8601 duration (`-P3D`, `P1D`) as a luxon Duration. */
export function signedDuration(text: string): Duration {
  const negative = text.startsWith('-');
  const duration = Duration.fromISO(text.replace(/^[+-]/, ''));
  return negative ? duration.negate() : duration;
}

/**
 * When a wait step ends, as epoch milliseconds: `for` counts from `from`; `until` is the anchor date
 * moved by the offset, at a wall-clock time of the patient's zone (calendar arithmetic, so "-P3D" stays
 * three calendar days across a DST change).
 */
export function planWait(options: {
  from: number;
  timeZone: string;
  anchorDate: string;
  until?: { offset: string; at?: string };
  for?: string;
}): number {
  if (options.for) {
    return DateTime.fromMillis(options.from, { zone: options.timeZone })
      .plus(Duration.fromISO(options.for))
      .toMillis();
  }
  if (!options.until) throw new Error('a wait needs "until" or "for"');
  const [hour, minute] = (options.until.at ?? '10:00').split(':').map(Number) as [number, number];
  const day = DateTime.fromISO(options.anchorDate, { zone: options.timeZone }).plus(
    signedDuration(options.until.offset),
  );
  return day.set({ hour, minute, second: 0, millisecond: 0 }).toMillis();
}

/**
 * The journey's opening wait (see `openingWait`) planned from `from`, as its first workflow task would plan
 * it: the `firstWait` an enrollment hands the journey, and the send it plans (when one follows the wait).
 */
export function planOpeningWait(
  definition: JourneyDefinition,
  options: { facts: Record<string, string>; anchorDate: string; timeZone: string; from: number },
): { firstWait: NonNullable<JourneyInput['firstWait']>; plannedSend: Date | null } | undefined {
  const { facts, timeZone, from } = options;
  const opening = openingWait(definition, facts);
  if (!opening) return undefined;
  const { step, beforeSend } = opening;
  const anchorDate = waitAnchorDate(step.until, facts, options.anchorDate);
  const at = planWait({ from, timeZone, anchorDate, until: step.until, for: step.for });
  if (!Number.isFinite(at)) return undefined;
  return { firstWait: { step: step.id, at }, plannedSend: beforeSend ? new Date(at) : null };
}

/**
 * Turns a wall-clock time in a zone into an instant. On the spring-forward gap the time does not exist
 * and moves forward by the gap (02:30 becomes 03:30); on the fall-back overlap the earlier instant wins.
 */
export function localTimeToEpochMs(date: string, time: string, timeZone: string): number {
  const local = DateTime.fromISO(`${date}T${time}`, { zone: timeZone });
  if (!local.isValid) {
    throw new CarebellError(
      'InvalidDueTime',
      `cannot place ${date} ${time} in ${timeZone}: ${local.invalidExplanation ?? local.invalidReason}`,
    );
  }
  // Luxon resolves an ambiguous wall time to the later instant; a reminder should not come an hour late.
  const wall = local.toFormat("yyyy-MM-dd'T'HH:mm");
  for (const minutes of [60, 30]) {
    const earlier = local.minus({ minutes });
    if (earlier.toFormat("yyyy-MM-dd'T'HH:mm") === wall) return earlier.toMillis();
  }
  return local.toMillis();
}

/**
 * Refuses a zone that is not IANA's where it is written: luxon would turn it into NaN times, and a NaN
 * compares as inside every sending window.
 */
export function assertTimeZone(field: string, zone: string): void {
  if (!IANAZone.isValidZone(zone))
    throw new CarebellError('InvalidInput', `${field}: must be an IANA time zone such as America/New_York`);
}
