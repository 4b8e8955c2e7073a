// A delivery that failed on its channel after the hand-off (an email bounce reported later; an SMS the
// carrier could not deliver) is sent again on the remaining channels by one workflow per delivery, so a
// report delivered twice still falls back once. Opaque ids only: this is stored in Temporal's history.
import { opaqueWorkflowId } from './ids';
import type { Channel, DeliveryOutcome } from './messaging';

export interface FallbackInput {
  clinicId: string;
  deliveryId: string;
  /** The channel the delivery failed on: the fallback uses the others. */
  failedChannel: Channel;
}

export interface FallbackResult {
  /** Absent when there was nothing to fall back from (the delivery had moved on already). */
  status?: DeliveryOutcome;
  channel?: Channel | null;
  reason?: string | null;
}

export type FallbackOutcome =
  ({ kind: 'done' } & FallbackResult) | { kind: 'defer'; until: number; reason: string };

export interface BounceFallbackActivities {
  /** Reopens the delivery and runs the send path on the remaining channels, under every rule. */
  fallBackBouncedDelivery(input: FallbackInput & { dueAt: number }): Promise<FallbackOutcome>;
  /** Ends a reopened delivery that could not be sent in time as failed, so nothing is left pending. */
  closeBouncedFallback(input: FallbackInput & { dueAt: number; reason: string }): Promise<FallbackResult>;
}

export const bounceFallbackWorkflowId = ({ deliveryId }: Pick<FallbackInput, 'deliveryId'>) =>
  opaqueWorkflowId('fallback', { deliveryId });

export type BounceFallbackWorkflow = (input: FallbackInput) => Promise<FallbackResult>;
