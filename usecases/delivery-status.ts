// A provider's status callback: the delivery is found by the provider's message id, the status recorded
// if it moves the message on (activities/provider-status.ts), a journey waiting on a `delivered` branch
// told, and a text reported undelivered after hand-off sent again on the next consented channel by a
// workflow keyed by the delivery (started before anything is recorded, so a crash in between loses
// nothing: the workflow records the status itself if the webhook could not).
import { WorkflowNotFoundError } from '@temporalio/client';
import { applyProviderStatus } from '../activities/provider-status';
import { twilioUndelivered } from '../channels/provider-status';
import { getDelivery } from '../db/queries/deliveries';
import { deliveryByProviderId, lockKey } from '../db/queries/replies';
import { withClinic } from '../db/tenant';
import { deliveryStatusSignal } from '../domain/journey';
import type { Logger } from '../infra/logger';
import type { EnrollmentDeps } from './enroll';
import { startFallback } from './start-workflows';

export interface StatusCallback {
  messageSid: string;
  status: string;
  errorCode?: string;
}

export interface StatusOutcome {
  deliveryId?: string;
  recorded: boolean;
  fallback: boolean;
}

export async function handleStatusCallback(
  deps: EnrollmentDeps & { log: Logger },
  callback: StatusCallback,
): Promise<StatusOutcome> {
  const found = await deliveryByProviderId(deps.db, callback.messageSid);
  if (!found) {
    // Not (yet) a delivery of ours: Twilio reports `queued` before the send activity records the sid.
    return { recorded: false, fallback: false };
  }
  const fallback = twilioUndelivered(callback.status);
  if (fallback) {
    await startFallback(deps.client, deps.taskQueue, {
      clinicId: found.clinicId,
      deliveryId: found.id,
      failedChannel: 'sms',
      providerStatus: callback.status,
      errorCode: callback.errorCode,
    });
  }
  const applied = await withClinic(deps.db, found.clinicId, async (tx) => {
    await lockKey(tx, `delivery:${found.id}`);
    const delivery = await getDelivery(tx, found.clinicId, found.id);
    if (!delivery) return { recorded: false, workflowId: null };
    const recorded = await applyProviderStatus(tx, delivery, callback.status, callback.errorCode);
    return { recorded, workflowId: delivery.workflowId };
  });
  deps.log.info(
    { deliveryId: found.id, status: callback.status, code: callback.errorCode, recorded: applied.recorded },
    'provider status',
  );
  // An undelivered text's journey hears from the fallback, once it knows the outcome.
  if (applied.recorded && callback.status === 'delivered' && applied.workflowId) {
    try {
      await deps.client.workflow
        .getHandle(applied.workflowId)
        .signal(deliveryStatusSignal, { deliveryId: found.id, status: 'delivered' });
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  }
  return { deliveryId: found.id, recorded: applied.recorded, fallback };
}
