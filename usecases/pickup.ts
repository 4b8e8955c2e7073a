// The secure pickup page's logic: a link from a message opens, after the patient's date of birth, the
// full message with the details no SMS or plain email may carry. Wrong dates are counted and lock the
// link; expired, locked and unknown links say so. Every answer is audited as `pickup-page`.
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { appendAudit } from '../db/queries/audit';
import { getClinic } from '../db/queries/clinics';
import { readDeliveryContent } from '../db/queries/delivery-contents';
import { getDelivery } from '../db/queries/deliveries';
import {
  findLinkByTokenHash,
  lockMessageLink,
  recordLinkUsed,
  recordWrongAnswer,
} from '../db/queries/message-links';
import { getPatientDateOfBirth } from '../db/queries/patients';
import type { Database } from '../db/client';
import type { Clinic } from '../db/schema';
import { withClinic, type Transaction } from '../db/tenant';
import type { Category } from '../domain/messaging';
import { LINK_TOKEN_PATTERN, messageLinkTokenHash } from '../security/message-link';
import type { FieldCipher } from '../security/field-cipher';
import { settingsOf } from '../journeys/clinic-settings';

const ACTOR = 'pickup-page';
/** Wrong dates of birth before the link locks. */
export const MAX_PICKUP_ATTEMPTS = 5;

export interface PickupDeps {
  db: Database;
  cipher: FieldCipher;
}

export interface PickupClinic {
  name: string;
  /** As people dial it at home, and as a tel: link. */
  phone?: { display: string; e164: string };
  brandColor?: string;
}

export type PickupPage =
  | { kind: 'unknown' }
  | { kind: 'expired' | 'locked'; language: string; clinic: PickupClinic }
  | {
      kind: 'ask';
      language: string;
      clinic: PickupClinic;
      problem?: { kind: 'wrong'; attemptsLeft: number } | { kind: 'invalid' };
    }
  | {
      kind: 'message';
      language: string;
      clinic: PickupClinic;
      category: Category;
      template: string;
      /** The email subject it was sent with: what it is about, in the patient's language. */
      subject?: string;
      details: Record<string, string>;
    };

/** The page a link opens, before any answer. Reveals no PHI, so it is not audited. */
export async function openPickup(deps: PickupDeps, token: string, now = Date.now()): Promise<PickupPage> {
  const found = await locate(deps, token);
  if (!found) return { kind: 'unknown' };
  return withClinic(deps.db, found.clinicId, async (tx) => {
    const state = await linkState(tx, found, now);
    return state.kind === 'open' ? { kind: 'ask', language: state.language, clinic: state.clinic } : state;
  });
}

/** An answer to the page's question: the date of birth as typed (YYYY-MM-DD, or MM/DD/YYYY). */
export async function answerPickup(
  deps: PickupDeps,
  token: string,
  answer: string,
  now = Date.now(),
): Promise<PickupPage> {
  const found = await locate(deps, token);
  if (!found) {
    await appendAudit(deps.db, {
      actor: ACTOR,
      clinicId: null,
      action: 'pickup.verify',
      objectType: 'message-link',
      outcome: 'denied',
    });
    return { kind: 'unknown' };
  }
  const { clinicId } = found;
  return withClinic(deps.db, clinicId, async (tx) => {
    const audit = (outcome: 'success' | 'failure' | 'denied') =>
      appendAudit(tx, {
        actor: ACTOR,
        clinicId,
        action: 'pickup.verify',
        objectType: 'delivery',
        objectId: found.deliveryId,
        outcome,
      });
    const state = await linkState(tx, found, now);
    if (state.kind !== 'open') {
      await audit('denied');
      return state;
    }
    const { language, clinic } = state;
    const given = normaliseDate(answer);
    if (!given) {
      // Not a date at all: nothing was checked, so nothing is counted.
      await audit('failure');
      return { kind: 'ask', language, clinic, problem: { kind: 'invalid' } };
    }
    const expected = await getPatientDateOfBirth(tx, deps.cipher, ACTOR, clinicId, state.patientId);
    if (expected === undefined || (normaliseDate(expected) ?? expected) !== given) {
      const link = await recordWrongAnswer(tx, clinicId, found.id, MAX_PICKUP_ATTEMPTS);
      await audit('failure');
      if (link.lockedAt) return { kind: 'locked', language, clinic };
      return {
        kind: 'ask',
        language,
        clinic,
        problem: { kind: 'wrong', attemptsLeft: MAX_PICKUP_ATTEMPTS - link.failedAttempts },
      };
    }
    const content = await readDeliveryContent(tx, deps.cipher, clinicId, found.deliveryId);
    if (!content) {
      await audit('denied');
      return { kind: 'expired', language, clinic };
    }
    await recordLinkUsed(tx, clinicId, found.id);
    await audit('success');
    return {
      kind: 'message',
      language: content.language,
      clinic,
      category: state.category,
      template: content.template,
      subject: content.rendered.subject,
      details: content.details ?? {},
    };
  });
}

interface FoundLink {
  id: string;
  clinicId: string;
  deliveryId: string;
}

async function locate(deps: PickupDeps, token: string): Promise<FoundLink | undefined> {
  if (!LINK_TOKEN_PATTERN.test(token)) return undefined;
  const link = await findLinkByTokenHash(deps.db, messageLinkTokenHash(token));
  return link && link.purpose === 'pickup' ? link : undefined;
}

type LinkState =
  | Extract<PickupPage, { kind: 'expired' | 'locked' }>
  | { kind: 'open'; language: string; clinic: PickupClinic; patientId: string; category: Category };

/** Whether the link still opens its message, read under a row lock so concurrent answers count. */
async function linkState(tx: Transaction, found: FoundLink, now: number): Promise<LinkState> {
  const [link, clinicRow, delivery] = [
    await lockMessageLink(tx, found.clinicId, found.id),
    await getClinic(tx, found.clinicId),
    await getDelivery(tx, found.clinicId, found.deliveryId),
  ];
  if (!link || !clinicRow || !delivery) throw new Error('a message link without its clinic or delivery');
  const clinic = pickupClinic(clinicRow);
  const language = delivery.language ?? settingsOf(clinicRow.settings).defaultLanguage;
  if (link.lockedAt) return { kind: 'locked', language, clinic };
  if (link.expiresAt.getTime() <= now) return { kind: 'expired', language, clinic };
  return { kind: 'open', language, clinic, patientId: delivery.patientId, category: delivery.category };
}

function pickupClinic(clinic: Clinic): PickupClinic {
  const parsed = clinic.contactPhone ? parsePhoneNumberFromString(clinic.contactPhone) : undefined;
  return {
    name: clinic.displayName ?? clinic.name,
    phone: parsed && {
      display: parsed.country === 'US' ? parsed.formatNational() : parsed.formatInternational(),
      e164: parsed.number,
    },
    brandColor: clinic.brandColor ?? undefined,
  };
}

/** YYYY-MM-DD from what a patient typed: 1985-12-10, 1985-12-1, 12/10/1985; undefined if not a real date. */
export function normaliseDate(input: string): string | undefined {
  const trimmed = input.trim();
  const iso = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(trimmed);
  const us = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(trimmed);
  const [year, month, day] = iso
    ? [iso[1], iso[2], iso[3]]
    : us
      ? [us[3], us[1], us[2]]
      : [undefined, undefined, undefined];
  if (!year || !month || !day) return undefined;
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  if (date.getUTCMonth() !== Number(month) - 1 || date.getUTCDate() !== Number(day)) return undefined;
  return date.toISOString().slice(0, 10);
}
