// The clinic's own journeys the bench enrolls besides the built-in refill journey: each is published for the
// bench clinic (so EHR events start it through handleEvent, like any clinic journey) and checked by the
// same schema as a clinic's upload.
import { validateJourney, type JourneyDefinition } from '../journeys/schema';

function valid(definition: unknown): JourneyDefinition {
  const checked = validateJourney(definition);
  if (!checked.ok) throw new Error(`a bench journey is invalid: ${checked.errors.join('; ')}`);
  return checked.value;
}

/** A transactional message as soon as the event arrives (an order is ready, a visit was booked). */
export const SEND_NOW_EVENT = 'bench.now';
export const sendNowJourney = (): JourneyDefinition =>
  valid({
    key: 'bench-now',
    version: 1,
    name: 'Bench: one message now',
    category: 'transactional',
    trigger: { event: SEND_NOW_EVENT },
    anchor: 'lastVisitDate',
    goal: { event: 'bench.done' },
    steps: [
      { id: 'now', type: 'send', template: 'reminder', channels: 'preferred' },
      { id: 'done', type: 'exit' },
    ],
  });

/**
 * Sleeps until `at` (HH:MM in the patient's zone) on the anchor date, then sends: many journeys due at the
 * same minute, as every refill reminder of a day is due at 10:00.
 */
export const wakeAtJourney = (at: string): JourneyDefinition =>
  valid({
    key: 'bench-wake',
    version: 1,
    name: 'Bench: one message at a set minute',
    category: 'transactional',
    trigger: { event: 'bench.wake' },
    anchor: 'lastVisitDate',
    goal: { event: 'bench.done' },
    steps: [
      { id: 'until', type: 'wait', until: { offset: 'P0D', at } },
      { id: 'wake', type: 'send', template: 'reminder', channels: 'preferred' },
      { id: 'done', type: 'exit' },
    ],
  });
