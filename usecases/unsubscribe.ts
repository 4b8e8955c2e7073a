// One-click unsubscribe from marketing email (RFC 8058): the link a marketing email carries, opened (GET:
// a confirmation page, since mail scanners fetch links) or posted (the mail client's one-click, or the
// page's button). A post revokes email marketing consent at once (a consent row with the link as
// evidence) and stops the patient's marketing journeys. Posting twice changes nothing more.
import { appendAudit } from '../db/queries/audit';
import { getClinic } from '../db/queries/clinics';
import { recordConsent } from '../db/queries/consents';
import {
  markUnsubscribeLinkUsed,
  messageLinkByTokenHash,
  unsubscribeLinkDetails,
} from '../db/queries/unsubscribe-links';
import { withClinic } from '../db/tenant';
import { linkTokenHash, UNSUBSCRIBE_TOKEN } from '../security/unsubscribe-token';
import type { EnrollmentDeps } from './enroll';
import { notifyJourneys } from './patients';
import { settingsOf } from '../journeys/clinic-settings';

const ACTOR = 'patient:unsubscribe-link';

export interface UnsubscribeView {
  /** `active`: not used yet; `done`: unsubscribed (now or before); `expired`. */
  state: 'active' | 'done' | 'expired';
  language: string;
  clinic: { name: string; phone: string | null; brandColor: string | null };
}

/** How the request came: the mail client's one-click POST, or the confirmation page's button. */
export type UnsubscribeMethod = 'list-unsubscribe-post' | 'unsubscribe-page';

async function findLink(deps: EnrollmentDeps, token: string) {
  if (!UNSUBSCRIBE_TOKEN.test(token)) return undefined;
  const link = await messageLinkByTokenHash(deps.db, linkTokenHash(token));
  return link?.purpose === 'unsubscribe' ? link : undefined;
}

/** What the link's page shows, or undefined for a link that does not exist. Changes nothing. */
export async function viewUnsubscribeLink(
  deps: EnrollmentDeps,
  token: string,
  now = new Date(),
): Promise<UnsubscribeView | undefined> {
  const link = await findLink(deps, token);
  if (!link) return undefined;
  return withClinic(deps.db, link.clinicId, async (tx) => {
    const [details, clinic] = await Promise.all([
      unsubscribeLinkDetails(tx, link.clinicId, link.id),
      getClinic(tx, link.clinicId),
    ]);
    if (!details || !clinic) return undefined;
    await appendAudit(tx, {
      actor: ACTOR,
      clinicId: link.clinicId,
      action: 'unsubscribe.view',
      objectType: 'delivery',
      objectId: details.deliveryId,
      outcome: 'success',
    });
    return {
      state: details.usedAt ? 'done' : details.expiresAt <= now ? 'expired' : 'active',
      language: details.language ?? settingsOf(clinic.settings).defaultLanguage,
      clinic: viewOf(clinic),
    };
  });
}

export async function unsubscribeByLink(
  deps: EnrollmentDeps,
  token: string,
  method: UnsubscribeMethod,
  now = new Date(),
): Promise<UnsubscribeView | undefined> {
  const link = await findLink(deps, token);
  if (!link) return undefined;
  const result = await withClinic(deps.db, link.clinicId, async (tx) => {
    const [details, clinic] = await Promise.all([
      unsubscribeLinkDetails(tx, link.clinicId, link.id),
      getClinic(tx, link.clinicId),
    ]);
    if (!details || !clinic) return undefined;
    const view = (state: UnsubscribeView['state']): UnsubscribeView => ({
      state,
      language: details.language ?? settingsOf(clinic.settings).defaultLanguage,
      clinic: viewOf(clinic),
    });
    if (!details.usedAt && details.expiresAt <= now) return { view: view('expired'), patientId: undefined };
    if (await markUnsubscribeLinkUsed(tx, link.clinicId, link.id)) {
      await recordConsent(tx, deps.cipher, {
        clinicId: link.clinicId,
        patientId: details.patientId,
        channel: 'email',
        category: 'marketing',
        granted: false,
        source: 'one-click-unsubscribe',
        evidence: JSON.stringify({ method, deliveryId: details.deliveryId }),
        actor: ACTOR,
      });
    }
    return { view: view('done'), patientId: details.patientId };
  });
  if (!result) return undefined;
  // Every post, not only the first: a first one whose signals failed (Temporal away) is completed by the next.
  if (result.patientId) await notifyJourneys(deps, link.clinicId, result.patientId, 'email');
  return result.view;
}

const viewOf = (clinic: NonNullable<Awaited<ReturnType<typeof getClinic>>>) => ({
  name: clinic.displayName ?? clinic.name,
  phone: clinic.contactPhone,
  brandColor: clinic.brandColor,
});
