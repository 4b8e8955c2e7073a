// What workflow histories say: how many Temporal Cloud actions a run cost, and whether (since when) a
// journey sleeps. Histories are the server's own record, so these figures do not depend on the bench's
// timing of its polls.
import type { Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import proto from '@temporalio/proto';
import { inParallel, sleep } from './measure';

const { EventType } = proto.temporal.api.enums.v1;
type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

/** Billable actions of one history, by kind. */
export type ActionCounts = Record<string, number>;

const KINDS: Partial<Record<number, string>> = {
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED]: 'start',
  [EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED]: 'child',
  [EventType.EVENT_TYPE_TIMER_STARTED]: 'timer',
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED]: 'signal',
  [EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED]: 'signal-sent',
  [EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES]: 'search-attributes',
  [EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED]: 'properties',
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED]: 'update',
};

/**
 * Billable actions as Temporal Cloud counts them from a history: a workflow start (client, child or
 * continue-as-new), each activity attempt, the local activities of one workflow task together as one,
 * each timer, each signal received or sent, each search-attribute upsert and accepted update. Queries are
 * billed too but leave no event; patch (version) markers and workflow tasks are not billed.
 */
export function billableActions(events: HistoryEvent[]): ActionCounts {
  const counts: ActionCounts = {};
  const add = (kind: string, count = 1) => (counts[kind] = (counts[kind] ?? 0) + count);
  let localActivitiesInTask = false;
  for (const event of events) {
    const kind = KINDS[event.eventType ?? 0];
    if (kind) add(kind);
    else if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
      // Recorded once, for the attempt that ended: the attempts before it were billed as retries.
      add('activity', Math.max(event.activityTaskStartedEventAttributes?.attempt ?? 1, 1));
    else if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) localActivitiesInTask = false;
    else if (
      event.eventType === EventType.EVENT_TYPE_MARKER_RECORDED &&
      event.markerRecordedEventAttributes?.markerName === LOCAL_ACTIVITY_MARKER &&
      !localActivitiesInTask
    ) {
      localActivitiesInTask = true;
      add('local-activities');
    }
  }
  return counts;
}

/** Billable actions per workflow over a sample of their histories: the mean, and the mean of each kind. */
export async function meanActions(
  client: Client,
  workflowIds: string[],
): Promise<{ total: number; byKind: ActionCounts }> {
  const sums: ActionCounts = {};
  await inParallel(workflowIds, 8, async (workflowId) => {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    for (const [kind, count] of Object.entries(billableActions(history.events ?? [])))
      sums[kind] = (sums[kind] ?? 0) + count;
  });
  const byKind = Object.fromEntries(
    Object.entries(sums).map(([kind, sum]) => [kind, Number((sum / workflowIds.length).toFixed(2))]),
  );
  return { total: Object.values(sums).reduce((a, b) => a + b, 0) / workflowIds.length, byKind };
}

/**
 * When the workflow went to sleep on a timer (the moment its workflow task that started the timer
 * completed), or undefined while it is still busy (a task or an activity pending) or not on a timer.
 */
export function asleepSince(events: HistoryEvent[]): number | undefined {
  const lastTask = events.findLastIndex(
    (event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
  );
  if (lastTask < 0) return undefined;
  const after = events.slice(lastTask + 1);
  const sleeping =
    after.some((event) => event.eventType === EventType.EVENT_TYPE_TIMER_STARTED) &&
    after.every(
      (event) =>
        event.eventType === EventType.EVENT_TYPE_TIMER_STARTED ||
        event.eventType === EventType.EVENT_TYPE_MARKER_RECORDED,
    );
  return sleeping ? tsToMs(events[lastTask]!.eventTime) : undefined;
}

/** When the workflow completed, or undefined while it runs. */
export function completedAt(events: HistoryEvent[]): number | undefined {
  const last = events.at(-1);
  return last?.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    ? tsToMs(last.eventTime)
    : undefined;
}

/**
 * Polls the histories of `workflowIds` (in the order they were started) until `settled` gives each a time;
 * resolves to the latest of those times, by the server's clock. Fetching thousands of histories competes
 * with the work being measured, so it first watches only the last few started, which the server and the
 * workers reach last, and sweeps them all once those have settled. Throws after `timeoutMs`.
 */
export async function latestSettled(
  client: Client,
  workflowIds: string[],
  settled: (events: HistoryEvent[]) => number | undefined,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let latest = 0;
  const unsettled = async (ids: string[]) => {
    const still: string[] = [];
    await inParallel(ids, 16, async (workflowId) => {
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      const at = settled(history.events ?? []);
      if (at === undefined) still.push(workflowId);
      else latest = Math.max(latest, at);
    });
    return still;
  };
  const until = async (ids: string[]) => {
    for (let pending = ids; pending.length > 0; pending = await unsettled(pending)) {
      if (Date.now() > deadline)
        throw new Error(
          `${pending.length} of ${ids.length} workflows did not settle within ${timeoutMs / 1000}s`,
        );
      if (pending !== ids) await sleep(500);
    }
  };
  await until(workflowIds.slice(-20));
  await until(workflowIds);
  return latest;
}
