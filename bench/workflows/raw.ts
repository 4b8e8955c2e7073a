// The baseline: the smallest useful Temporal workflow, one activity that does nothing.
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(input: string): Promise<string> }>({
  startToCloseTimeout: '1 minute',
});

export async function rawWorkflow(input: string): Promise<string> {
  return noop(input);
}
