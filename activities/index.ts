// Every activity the worker registers, built from its dependencies. Workflows import only the type.
import { CarebellError, toApplicationFailure } from '../domain/errors';
import type { ActivityDeps } from './deps';
import { createDueTimeActivities } from './due-time';
import { createFallbackActivities } from './fallback';
import { createRecordActivities } from './records';
import { createJourneyActivities } from './journey';
import { createReminderActivities } from './reminder';
import { createSweepActivities } from './sweep';

export type { ActivityDeps } from './deps';

export function createActivities(deps: ActivityDeps) {
  return withTypedFailures({
    ...createDueTimeActivities(deps),
    ...createReminderActivities(deps),
    ...createJourneyActivities(deps),
    ...createSweepActivities(deps),
    ...createRecordActivities(deps),
    ...createFallbackActivities(deps),
  });
}

export type Activities = ReturnType<typeof createActivities>;

/** A CarebellError thrown anywhere below an activity reaches the workflow with its type and retryability. */
function withTypedFailures<T extends Record<string, (input: never) => Promise<unknown>>>(activities: T): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, activity]) => [
      name,
      async (input: never) => {
        try {
          return await activity(input);
        } catch (error) {
          throw error instanceof CarebellError ? toApplicationFailure(error) : error;
        }
      },
    ]),
  ) as T;
}
