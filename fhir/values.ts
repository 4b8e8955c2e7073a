// Careful readers of untrusted FHIR JSON: every field may be missing, null, the wrong type or hostile, and
// none of them may throw. They only ever read own properties, so `__proto__` or `constructor` in the input
// are plain data.

export type JsonObject = Record<string, unknown>;

export const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const field = (value: unknown, key: string): unknown =>
  isObject(value) && Object.hasOwn(value, key) ? value[key] : undefined;

/** A non-blank string, trimmed. */
export function text(value: unknown, key: string): string | undefined {
  const found = field(value, key);
  return typeof found === 'string' && found.trim() !== '' ? found.trim() : undefined;
}

/** The objects of an array element; a lone object where FHIR wants an array is read as one element. */
export function objects(value: unknown, key: string): JsonObject[] {
  const found = field(value, key);
  if (Array.isArray(found)) return found.filter(isObject);
  return isObject(found) ? [found] : [];
}

export function strings(value: unknown, key: string): string[] {
  const found = field(value, key);
  const list: unknown[] = Array.isArray(found) ? found : [found];
  return list.filter((item): item is string => typeof item === 'string' && item.trim() !== '');
}

/** A number, also when an exporter wrote it as a string ("30"). */
export function numeric(value: unknown, key: string): number | undefined {
  const found = field(value, key);
  if (typeof found === 'number' && Number.isFinite(found)) return found;
  if (typeof found === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(found)) return Number(found);
  return undefined;
}

export function bool(value: unknown, key: string): boolean | undefined {
  const found = field(value, key);
  if (typeof found === 'boolean') return found;
  if (found === 'true' || found === 'false') return found === 'true';
  return undefined;
}

export interface Coding {
  system?: string;
  code?: string;
  display?: string;
}

export const codings = (concept: unknown): Coding[] =>
  objects(concept, 'coding').map((coding) => ({
    system: text(coding, 'system'),
    code: text(coding, 'code'),
    display: text(coding, 'display'),
  }));

/** Codes of one or more CodeableConcepts, in order, optionally of one system. */
export const codesOf = (concepts: unknown[], system?: string): string[] =>
  concepts.flatMap((concept) =>
    codings(concept)
      .filter((coding) => system === undefined || coding.system === system)
      .flatMap((coding) => (coding.code ? [coding.code] : [])),
  );

const DATE = /^(\d{4})-(\d{2})-(\d{2})(T.*)?$/;

/** The calendar date a FHIR date or dateTime names, as written (its own offset, not converted). */
export function datePart(value: string | undefined): string | undefined {
  const match = value === undefined ? null : DATE.exec(value);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  const real =
    date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  return real ? `${match[1]}-${match[2]}-${match[3]}` : undefined;
}

/** The local time of day a dateTime names, as written: `2026-12-03T09:30:00-05:00` → `09:30`. */
export function timePart(value: string | undefined): string | undefined {
  const match = value === undefined ? null : /^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):([0-5]\d)/.exec(value);
  return match ? `${match[1]}:${match[2]}` : undefined;
}

export function addDays(date: string, days: number): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10);
}

/** The resource's own id, else its first identifier's value: what the EHR calls it. */
export const resourceKey = (resource: JsonObject): string | undefined =>
  text(resource, 'id') ??
  objects(resource, 'identifier')
    .map((id) => text(id, 'value'))
    .find(Boolean);

/** A period that has ended before `today` (YYYY-MM-DD): the contact point or address is no longer used. */
export function periodEnded(item: unknown, today: string): boolean {
  const end = datePart(text(field(item, 'period'), 'end'));
  return end !== undefined && end < today;
}
