// The tokens messages link with. A token is derived with the keyed blind index from its purpose and the
// delivery, so it is the same on every retry (a re-rendered SMS body is identical, and the look-up of an
// earlier hand-off by marker still finds it), unguessable without the key, and good for one purpose only.
// The database keeps only its hash: a leaked table opens no message.
import { createHash } from 'node:crypto';
import type { FieldCipher } from './field-cipher';

export type LinkPurpose = 'pickup' | 'unsubscribe';

/**
 * 12 base64url characters: 72 bits, found only by asking the server (rate-limited per address, and the
 * page then asks for the date of birth and locks after a few wrong ones). Longer would be nicer, but
 * every shipped SMS is tuned to one 160-character segment (the FCC's healthcare exemption) with this
 * length; 22 characters would push nearly all of them to two (test/unit/send-decision.test.ts).
 */
export const LINK_TOKEN_LENGTH = 12;
export const LINK_TOKEN_PATTERN = /^[A-Za-z0-9_-]{12}$/;
/** How long a link in a message opens its page. */
export const LINK_LIFETIME_MS = 30 * 24 * 3600 * 1000;

export function messageLinkToken(
  cipher: FieldCipher,
  purpose: LinkPurpose,
  clinicId: string,
  deliveryId: string,
): string {
  return cipher.blindIndex('link', clinicId, `${purpose}|${deliveryId}`).slice(0, LINK_TOKEN_LENGTH);
}

/**
 * What `message_links.token_hash` stores. Unkeyed on purpose: a request names no clinic, so the hash
 * must be computable from the token alone; 132 random-looking bits leave nothing to guess.
 */
export function messageLinkTokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
