import type { Category } from '../../domain/messaging';
import type { JourneyDefinition } from '../../journeys/schema';

/** The smallest journey that sends: one message at once, then done. Tests and benchmarks enroll it. */
export const sendNow = (key: string, category: Category = 'transactional'): JourneyDefinition => ({
  key,
  version: 1,
  name: key,
  category,
  trigger: { event: 'test.start' },
  anchor: 'lastVisitDate',
  goal: { event: 'test.goal' },
  steps: [
    { id: 'hello', type: 'send', template: 'reminder', channels: 'preferred' },
    { id: 'done', type: 'exit' },
  ],
});
