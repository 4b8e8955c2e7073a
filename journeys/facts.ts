// An enrollment's facts checked against what its journey declares, before anything is written or started:
// a missing required fact, or one that is not what its type says, refuses the event or the sweep's pick.
import { DateTime } from 'luxon';
import type { FactType, JourneyDefinition } from './schema';

const valid: Record<FactType, [test: (value: string) => boolean, expected: string]> = {
  date: [
    (value) => /^\d{4}-\d{2}-\d{2}$/.test(value) && DateTime.fromISO(value).isValid,
    'a date YYYY-MM-DD',
  ],
  time: [(value) => /^([01]\d|2[0-3]):[0-5]\d$/.test(value), 'a local time HH:MM'],
  integer: [(value) => /^-?\d{1,9}$/.test(value), 'a whole number'],
  boolean: [(value) => value === 'true' || value === 'false', 'true or false'],
  text: [() => true, 'text'],
};

/** Why these facts cannot start the journey, if they cannot; names the fact, never echoes its value. */
export function factsProblem(journey: JourneyDefinition, facts: Record<string, string>): string | undefined {
  for (const [name, declaration] of Object.entries(journey.facts ?? {})) {
    const value = facts[name];
    const [test, expected] = valid[declaration.type];
    if (value === undefined) {
      if (declaration.required) return `facts.${name}: ${journey.key} needs it (${expected})`;
    } else if (!test(value)) return `facts.${name}: must be ${expected}`;
  }
  return undefined;
}
