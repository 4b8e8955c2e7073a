// A delivery that failed on its channel after the hand-off (a text the carrier could not deliver, an email
// that bounced later) goes again on the remaining consented channels, in the same delivery row, by one
// workflow per delivery: a report delivered twice still falls back once, and a crash loses nothing.
// Opaque ids only: this is stored in Temporal's history.
import { opaqueWorkflowId } from './ids';
import type { DeliveryReceipt } from './journey';
import type { Channel } from './messaging';

export interface FallbackInput {
  clinicId: string;
  deliveryId: string;
  /** The channel the delivery failed on: the fallback uses the others. */
  failedChannel: Channel;
  /** A text's final provider status and error code (30003, 21610…), which the webhook may not have recorded. */
  providerStatus?: string;
  errorCode?: string;
}

export type FallbackStep =
  { kind: 'done'; receipt: DeliveryReceipt; workflowId: string | null } | { kind: 'defer'; until: number };

export interface FallbackActivities {
  /** Reopens the delivery (once) and runs the send path on the remaining channels, or says what became of it. */
  fallBackDelivery(input: FallbackInput & { dueAt: number }): Promise<FallbackStep>;
  /** Ends a reopened delivery that could not be sent as failed, so nothing is left pending. */
  closeFallback(input: FallbackInput & { dueAt: number; reason: string }): Promise<FallbackStep>;
}

export const fallbackWorkflowId = ({ deliveryId }: Pick<FallbackInput, 'deliveryId'>) =>
  opaqueWorkflowId('fallback', { deliveryId });

export type FallbackWorkflow = (input: FallbackInput) => Promise<DeliveryReceipt>;
