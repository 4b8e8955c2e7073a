// One per undelivered text (domain/delivery-fallback.ts): sends it again on the next consented channel,
// waiting out quiet hours and caps like any send, then tells the journey the delivery's outcome.
import { getExternalWorkflowHandle, proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { FallbackInput } from '../domain/delivery-fallback';
import { deliveryStatusSignal, type DeliveryReceipt } from '../domain/journey';
import { nonRetryableErrorTypes } from '../domain/errors';

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

export async function deliveryFallbackWorkflow(input: FallbackInput): Promise<DeliveryReceipt> {
  for (;;) {
    const step = await fallBackDelivery(input);
    if (step.kind === 'defer') {
      await sleep(Math.max(step.until - Date.now(), 1));
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
