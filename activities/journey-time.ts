import { DateTime, Duration } from 'luxon';

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
