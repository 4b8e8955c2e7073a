/** Vendor statuses mapped onto one vocabulary; no business rule depends on a vendor's own words. */
export type ProviderStatus = 'accepted' | 'sent' | 'delivered' | 'failed';

// https://www.twilio.com/docs/messaging/api/message-resource#message-status-values
const twilioStatuses: Record<string, ProviderStatus> = {
  accepted: 'accepted',
  scheduled: 'accepted',
  queued: 'accepted',
  sending: 'accepted',
  sent: 'sent',
  delivered: 'delivered',
  partially_delivered: 'delivered',
  read: 'delivered',
  receiving: 'delivered',
  received: 'delivered',
  undelivered: 'failed',
  failed: 'failed',
  canceled: 'failed',
};

export function fromTwilioStatus(status: string): ProviderStatus {
  return twilioStatuses[status] ?? 'accepted';
}

// A Twilio message moves queued -> sending -> sent -> delivered, or ends undelivered/failed. Callbacks
// may come twice or out of order; a status is taken only if it is further along than every one before.
const twilioRank: Record<string, number> = {
  accepted: 0,
  scheduled: 0,
  queued: 0,
  sending: 1,
  sent: 2,
  delivered: 3,
  read: 3,
  undelivered: 3,
  failed: 3,
  canceled: 3,
};

/** Whether `status` moves a message on from the statuses already seen. */
export function twilioStatusMovesOn(status: string, seen: readonly string[]): boolean {
  const rank = twilioRank[status];
  if (rank === undefined) return false;
  return seen.every((earlier) => (twilioRank[earlier] ?? -1) < rank);
}

/** A final status that says the message did not reach the phone. */
export const twilioUndelivered = (status: string) =>
  status === 'undelivered' || status === 'failed' || status === 'canceled';
