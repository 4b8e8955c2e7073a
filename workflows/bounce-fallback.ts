// The remaining channels of one delivery after it failed on its own (domain/bounce-fallback.ts): the send path
// under every rule, waiting out quiet hours and caps like any send, retried through provider outages.
import { ActivityFailure, proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { isFailureOf, nonRetryableErrorTypes } from '../domain/errors';
import type { FallbackInput, FallbackResult } from '../domain/bounce-fallback';
import { unsentReason } from './unsent-reason';

const { fallBackBouncedDelivery } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '24 hours',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '10 minutes',
    nonRetryableErrorTypes,
  },
});

const { closeBouncedFallback } = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

export async function bounceFallbackWorkflow(input: FallbackInput): Promise<FallbackResult> {
  let dueAt = Date.now();
  for (;;) {
    if (dueAt > Date.now()) await sleep(dueAt - Date.now());
    try {
      const outcome = await fallBackBouncedDelivery({ ...input, dueAt });
      if (outcome.kind === 'done')
        return { status: outcome.status, channel: outcome.channel, reason: outcome.reason };
      dueAt = outcome.until;
    } catch (error) {
      if (error instanceof ActivityFailure && !isFailureOf(error, 'PatientNotFound')) {
        return await closeBouncedFallback({ ...input, dueAt, reason: unsentReason(error) });
      }
      throw error;
    }
  }
}
