import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { reminderWorkflow } from '../workflows/reminder';
import { reminderWorkflowId, type ReminderInput } from '../workflows/reminder-types';

/**
 * Starts the reminder for (clinic, patient, journey, episode), or finds the one already started: a duplicate
 * trigger never creates a second workflow, whether the first is still running or already finished.
 */
export async function startReminder(
  client: Client,
  taskQueue: string,
  input: ReminderInput,
): Promise<WorkflowHandle<typeof reminderWorkflow>> {
  const workflowId = reminderWorkflowId(input);
  try {
    return await client.workflow.start<typeof reminderWorkflow>('reminderWorkflow', {
      workflowId,
      taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return client.workflow.getHandle(workflowId);
    throw error;
  }
}
