import {
  WorkflowExecutionAlreadyStartedError,
  type Client,
  type WorkflowHandle,
  type WorkflowStartOptions,
} from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import { fallbackWorkflowId, type FallbackInput, type FallbackWorkflow } from '../domain/fallback';
import {
  JOURNEY_REVISION,
  journeyWorkflowId,
  type JourneyInput,
  type JourneyWorkflow,
} from '../domain/journey';
import {
  REMINDER_REVISION,
  reminderWorkflowId,
  type ReminderInput,
  type ReminderWorkflow,
} from '../domain/reminder';

/**
 * Starts a workflow under a business id, or finds the one already started: a duplicate trigger never
 * creates a second workflow, whether the first is still running or already finished.
 */
async function startOnce<W extends Workflow>(
  client: Client,
  type: string,
  options: WorkflowStartOptions<W>,
): Promise<WorkflowHandle<W>> {
  try {
    return await client.workflow.start<W>(type, {
      ...options,
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError)
      return client.workflow.getHandle<W>(options.workflowId);
    throw error;
  }
}

export function startReminder(client: Client, taskQueue: string, input: Omit<ReminderInput, 'revision'>) {
  return startOnce<ReminderWorkflow>(client, 'reminderWorkflow', {
    workflowId: reminderWorkflowId(input),
    taskQueue,
    args: [{ ...input, revision: REMINDER_REVISION }],
  });
}

/** One journey per (clinic, patient, journey, episode). */
export function startJourney(client: Client, taskQueue: string, input: Omit<JourneyInput, 'revision'>) {
  return startOnce<JourneyWorkflow>(client, 'journeyWorkflow', {
    workflowId: journeyWorkflowId({ ...input, key: input.definition.key }),
    taskQueue,
    args: [{ ...input, revision: JOURNEY_REVISION }],
  });
}

/** One fallback per delivery, ever: a failure reported twice (or after the fallback ended) starts nothing. */
export function startFallback(client: Client, taskQueue: string, input: FallbackInput) {
  return startOnce<FallbackWorkflow>(client, 'fallbackWorkflow', {
    workflowId: fallbackWorkflowId(input),
    taskQueue,
    args: [input],
  });
}
