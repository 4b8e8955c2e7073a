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
