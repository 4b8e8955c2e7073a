import { Duration } from 'luxon';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `90s`, `5m`, `1h30m`, `2d` or an ISO-8601 duration such as `PT30S` into milliseconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^P/i.test(trimmed)) {
    const iso = Duration.fromISO(trimmed.toUpperCase());
    if (!iso.isValid) throw new Error(`"${text}" is not a valid ISO-8601 duration`);
    return iso.toMillis();
  }
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== trimmed) {
    throw new Error(`"${text}" is not a duration: use forms like 30s, 5m, 1h30m, 2d or PT30S`);
  }
  return Math.round(parts.reduce((total, [, amount, unit]) => total + Number(amount) * UNIT_MS[unit!]!, 0));
}
