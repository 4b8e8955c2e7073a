// One per delivery that failed after hand-off (domain/fallback.ts): the send path on the remaining channels,
// waiting out quiet hours and caps like any send, retried through provider outages; then the journey that
// sent it hears the outcome (a `delivered` branch waits for it).
import { ActivityFailure, getExternalWorkflowHandle, proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { nonRetryableErrorTypes } from '../domain/errors';
import type { FallbackInput, FallbackStep } from '../domain/fallback';
import { deliveryStatusSignal, type DeliveryReceipt } from '../domain/journey';
import { unsentReason } from './activity-failure';

const { fallBackDelivery } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '24 hours',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '10 minutes',
    nonRetryableErrorTypes,
  },
});

const { closeFallback } = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

export async function fallbackWorkflow(input: FallbackInput): Promise<DeliveryReceipt> {
  let dueAt = Date.now();
  for (;;) {
    if (dueAt > Date.now()) await sleep(dueAt - Date.now());
    let step: FallbackStep;
    try {
      step = await fallBackDelivery({ ...input, dueAt });
    } catch (error) {
      if (!(error instanceof ActivityFailure)) throw error;
      step = await closeFallback({ ...input, dueAt, reason: unsentReason(error) });
    }
    if (step.kind === 'defer') {
      dueAt = step.until;
      continue;
    }
    if (step.workflowId) {
      try {
        await getExternalWorkflowHandle(step.workflowId).signal(deliveryStatusSignal, {
          deliveryId: input.deliveryId,
          status: step.receipt,
        });
      } catch {
        // The journey has ended: nobody is waiting for the outcome.
      }
    }
    return step.receipt;
  }
}
