// The baselines: the smallest Temporal workflows that do what carebell's do, with none of its rules,
// database or encryption. Every benchmark reports carebell as a ratio of one of these, run on the same
// server in the same minute.
import { proxyActivities, sleep } from '@temporalio/workflow';

export const RAW_TASK_QUEUE = 'bench-raw';

/** What a raw send hands the peer: the same words carebell would send, to one patient's address. */
export type RawMessage =
  | { channel: 'sms'; to: string; body: string }
  | { channel: 'email'; to: string; subject: string; text: string; html: string };

export interface RawActivities {
  noop(input: string): Promise<string>;
  post(message: RawMessage): Promise<string>;
}

const { noop, post } = proxyActivities<RawActivities>({
  startToCloseTimeout: '1 minute',
});

/** One no-op activity: the throughput baseline. */
export async function rawWorkflow(input: string): Promise<string> {
  return noop(input);
}

/** Nothing at all: the enrollment baseline (a start and one workflow task). */
export async function emptyWorkflow(): Promise<void> {}

/** One activity that posts a message to the peer: the latency baseline. */
export async function rawSendWorkflow(message: RawMessage): Promise<string> {
  return post(message);
}

/** Sleeps until `at` (epoch ms), then posts: the baseline of a sleeping journey woken by its timer. */
export async function rawSleepThenSendWorkflow(at: number, message: RawMessage): Promise<string> {
  await sleep(Math.max(at - Date.now(), 1));
  return post(message);
}
