// The token of a marketing email's unsubscribe link (/u/<token>): derived with the blind-index key from
// the delivery, so every retry of the send renders the same link, unguessable without the key, naming
// nothing. Only its hash is stored (message_links, purpose 'unsubscribe'); the link is found by that hash.
import { createHash } from 'node:crypto';
import type { FieldCipher } from './field-cipher';

/** How long an unsubscribe link works; CAN-SPAM asks for at least 30 days after sending. */
export const UNSUBSCRIBE_LINK_DAYS = 365;

export const UNSUBSCRIBE_TOKEN = /^[A-Za-z0-9_-]{43}$/;

export function unsubscribeToken(cipher: FieldCipher, clinicId: string, deliveryId: string): string {
  return cipher.blindIndex('link', clinicId, `unsubscribe|${deliveryId}`);
}

export function linkTokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
