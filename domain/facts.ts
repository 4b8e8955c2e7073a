// Facts travel as strings (from an EHR event or a sweep, validated against the journey's declarations
// when it starts); a condition compares them as the type its literal has.
import type { FactCondition, JourneyDefinition } from '../journeys/schema';

export function factConditionHolds(test: FactCondition, facts: Record<string, string>): boolean {
  const value = facts[test.fact];
  if (value === undefined) return false;
  if (test.atLeast !== undefined) return Number(value) >= test.atLeast;
  if (test.below !== undefined) return Number(value) < test.below;
  return value === String(test.equals);
}

/** The journey does not apply to what the event is about: one of its `trigger.unless` holds (as-needed). */
export const excludedByTrigger = (journey: JourneyDefinition, facts: Record<string, string>): boolean =>
  journey.trigger.unless?.some((test) => factConditionHolds(test, facts)) === true;
