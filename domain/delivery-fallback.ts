// A text the provider reported undelivered after hand-off goes again on the next consented channel, in the
// same delivery row, by one small workflow per delivery (so it happens once, and survives crashes).
import type { DeliveryReceipt } from './journey';

export interface FallbackInput {
  clinicId: string;
  deliveryId: string;
  /** The provider's final status (undelivered, failed) and error code (30003, 21610...). */
  providerStatus: string;
  errorCode?: string;
}

export type FallbackStep =
  { kind: 'done'; receipt: DeliveryReceipt; workflowId: string | null } | { kind: 'defer'; until: number };

export type FallbackWorkflow = (input: FallbackInput) => Promise<DeliveryReceipt>;

/** One per delivery: a repeated callback finds the running (or finished) one instead of starting another. */
export const fallbackWorkflowId = (deliveryId: string) => `delivery-fallback-${deliveryId}`;
