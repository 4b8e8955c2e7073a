// The one send path every message takes (reminders and journey steps): at the moment of the attempt,
// under a lock on the patient and its addresses, re-read the patient, the clinic, consent, the suppression
// list and what was sent (or is in flight) to the patient and its addresses; decide by the one rule
// (rules/sending.ts decideSend); then render in the patient's language and hand off on the first route
// that works, falling back on a recipient's permanent failure. Every due send ends as one delivery row.
import { Context } from '@temporalio/activity';
import { sql } from 'drizzle-orm';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { DateTime } from 'luxon';
import { ChannelError } from '../channels/channel-error';
import type { SentMessage } from '../channels/sms-sender';
import { appendAudit } from '../db/queries/audit';
import { getClinic } from '../db/queries/clinics';
import { consentAllows, latestConsents, recordConsent } from '../db/queries/consents';
import {
  claimDelivery,
  type DeliveryClaim,
  completeDelivery,
  recordAttempt,
  recordAttemptEnded,
  sendsForCaps,
  type DeliveryCompletion,
} from '../db/queries/deliveries';
import { plannedTransactionalSends } from '../db/queries/enrollments';
import { getPatient, type PatientRecord } from '../db/queries/patients';
import { recordDeliveryEvent } from '../db/queries/email-feedback';
import { encryptFacts } from '../db/queries/fallback';
import { suppressAddress, suppressedAddresses } from '../db/queries/suppressions';
import { ensureUnsubscribeLink } from '../db/queries/unsubscribe-links';
import type { Clinic, Delivery } from '../db/schema';
import { withClinic, type Transaction } from '../db/tenant';
import { CarebellError } from '../domain/errors';
import type { Category, Channel } from '../domain/messaging';
import {
  channelOrder,
  decideSend,
  effectiveCaps,
  effectiveWindow,
  usState,
  type Route,
} from '../rules/sending';
import type { ActivityDeps } from './deps';
import { composeEmail } from './email-message';

const ACTOR = 'worker';

const DAY_MS = 24 * 3600 * 1000;
const WEEK_MS = 7 * DAY_MS;
// Twilio's clock and ours may differ a little; the look-up starts this much before the row was claimed.
const RECONCILE_SLACK_MS = 5 * 60_000;
// Longer than an SMTP conversation may last (channels/smtp-email.ts gives up after 40 s).
const EMAIL_ATTEMPT_MS = 60_000;

export interface SendRequest {
  clinicId: string;
  patientId: string;
  template: string;
  category: Category;
  /** A step's explicit channel order, or the patient's preference then the other channel. */
  channels: 'preferred' | Channel[];
  /** Non-PHI values the template shows (dates are formatted for the patient's language and zone). */
  facts: Record<string, string>;
  /** When the workflow considers the send due (its own clock, which the time-skipping server moves). */
  dueAt: number;
  idempotencyKey: string;
  /** A journey's send, for reports: the journey, its enrollment (workflow) and the A/B variant. */
  journey?: { key: string; workflowId: string; variant: string | null };
  /**
   * A second try on the remaining channels after the delivery failed on one (activities/fallback.ts): if
   * no channel is left, the delivery ends failed with this reason rather than suppressed.
   */
  fallback?: { reason: string };
}

const claimOf = (request: SendRequest): DeliveryClaim => ({
  clinicId: request.clinicId,
  patientId: request.patientId,
  idempotencyKey: request.idempotencyKey,
  template: request.template,
  category: request.category,
  dueAt: new Date(request.dueAt),
  journeyKey: request.journey?.key,
  workflowId: request.journey?.workflowId,
  variant: request.journey?.variant,
});

export type SendResult =
  | { kind: 'done'; delivery: Delivery }
  | { kind: 'defer'; until: number; reason: 'quiet-hours' | 'frequency-cap' };

export function createSendPath(deps: ActivityDeps) {
  const { db, cipher, log } = deps;
  const inClinic = <T>(clinicId: string, work: (tx: Transaction) => Promise<T>) =>
    withClinic(db, clinicId, work);

  /** Completes the row and records the send in the audit log, in one transaction. */
  async function complete(
    tx: Transaction,
    request: SendRequest,
    deliveryId: string,
    outcome: DeliveryCompletion,
  ): Promise<Delivery> {
    const completed = await completeDelivery(tx, deliveryId, outcome);
    await appendAudit(tx, {
      actor: ACTOR,
      clinicId: request.clinicId,
      action: 'message.send',
      objectType: 'delivery',
      objectId: deliveryId,
      outcome: completed.status === 'sent' || completed.status === 'delivered' ? 'success' : 'failure',
    });
    return completed;
  }

  /** Ends a due send that will not be attempted (the journey ended, retries ran out) as one row. */
  function close(request: SendRequest, outcome: DeliveryCompletion): Promise<Delivery> {
    return inClinic(request.clinicId, async (tx) => {
      const delivery = await claimDelivery(tx, claimOf(request));
      return complete(tx, request, delivery.id, outcome);
    });
  }

  /** Everything the decision needs, read under locks so that two workers cannot both pass the caps. */
  function decide(request: SendRequest, now: number) {
    return inClinic(request.clinicId, async (tx) => {
      await lock(tx, `patient:${request.patientId}`);
      const clinic = await getClinic(tx, request.clinicId);
      const patient = clinic && (await getPatient(tx, cipher, ACTOR, request.clinicId, request.patientId));
      if (!clinic || !patient) throw new CarebellError('PatientNotFound');
      const delivery = await claimDelivery(tx, claimOf(request));
      if (delivery.status !== 'pending') return { delivery, settled: true as const };
      const contacts: Route[] = patient.contacts;
      const indexes = [...new Set(contacts.map((contact) => contact.addressIndex))].sort();
      // Family members sharing a phone are different patients: the destination is locked too.
      for (const index of indexes) await lock(tx, `address:${index}`);
      const [consents, suppressed, earlier, planned] = await Promise.all([
        latestConsents(tx, request.clinicId, request.patientId),
        suppressedAddresses(tx, request.clinicId, indexes),
        sendsForCaps(tx, {
          clinicId: request.clinicId,
          patientId: request.patientId,
          addressIndexes: indexes,
          since: new Date(now - WEEK_MS),
          now: new Date(now),
          excluding: delivery.id,
        }),
        request.category === 'marketing'
          ? plannedTransactionalSends(
              tx,
              request.clinicId,
              request.patientId,
              new Date(now - DAY_MS),
              new Date(now + DAY_MS),
            )
          : Promise.resolve([]),
      ]);
      const decision = decideSend({
        now,
        category: request.category,
        patient,
        order: channelOrder(patient.preferredChannel, request.channels),
        contacts,
        suppressed,
        consentAllows: (channel, category) => consentAllows(consents, channel, category),
        window: effectiveWindow(
          { opens: clinic.quietHoursEnd, closes: clinic.quietHoursStart },
          request.category,
          usState(patient.postalAddress),
        ),
        caps: effectiveCaps({ perDay: clinic.maxPerDay, perWeek: clinic.maxPerWeek }, request.category),
        earlier,
        plannedTransactional: planned,
      });
      if (decision.kind === 'suppress') {
        const closed = await complete(
          tx,
          request,
          delivery.id,
          request.fallback
            ? { status: 'failed', reason: request.fallback.reason }
            : { status: 'suppressed', reason: decision.reason },
        );
        return { delivery: closed, settled: true as const };
      }
      if (
        decision.kind === 'send' &&
        decision.routes[0]!.channel === 'email' &&
        delivery.channel === 'email' &&
        delivery.lastAttemptAt &&
        now - delivery.lastAttemptAt.getTime() < EMAIL_ATTEMPT_MS
      ) {
        // An earlier email attempt may still be talking to the relay: two conversations never overlap.
        const busyFor = delivery.lastAttemptAt.getTime() + EMAIL_ATTEMPT_MS - now;
        return {
          delivery,
          settled: false as const,
          decision: { kind: 'busy' as const, busyFor },
          clinic,
          patient,
        };
      }
      if (decision.kind === 'send') {
        // In flight from here on: a concurrent decision for this patient or address counts it.
        const first = decision.routes[0]!;
        await recordAttempt(tx, delivery.id, {
          channel: first.channel,
          addressIndex: first.addressIndex,
          language: deps.translator.forLanguage(patient.language).language,
        });
      }
      return { delivery, settled: false as const, decision, clinic, patient };
    });
  }

  async function send(request: SendRequest): Promise<SendResult> {
    // The rules hold at the moment the message leaves: a retry hours after the due time checks again.
    const now = Math.max(request.dueAt, deps.clock());
    const decided = await decide(request, now);
    if (decided.settled) return { kind: 'done', delivery: decided.delivery };
    const { decision, clinic, patient, delivery } = decided;
    if (decision.kind === 'defer') return decision;
    if (decision.kind === 'busy') {
      throw new CarebellError('ChannelUnavailable', 'an earlier email attempt may still be in flight', {
        retryAfterMs: decision.busyFor,
      });
    }

    const message = render(clinic, patient, delivery, request);
    let lastFailure: ChannelError | undefined;
    for (const [position, route] of decision.routes.entries()) {
      if (position > 0) {
        await inClinic(request.clinicId, (tx) =>
          recordAttempt(tx, delivery.id, {
            channel: route.channel,
            addressIndex: route.addressIndex,
            language: message.language,
          }),
        );
      }
      try {
        const sent = await deliver(route, message, delivery, clinic, request.category, now);
        const completed = await inClinic(request.clinicId, (tx) =>
          complete(tx, request, delivery.id, {
            status: sent.status === 'delivered' ? 'delivered' : 'sent',
            channel: route.channel,
            addressIndex: route.addressIndex,
            providerMessageId: sent.providerMessageId,
            dueAt: new Date(now),
            // For a fallback to another channel after a later failure report (a bounce).
            factsEnc: encryptFacts(cipher, request.clinicId, delivery.id, request.facts),
          }),
        );
        log.info(
          { deliveryId: delivery.id, channel: route.channel, attempt: Context.current().info.attempt },
          'message handed to provider',
        );
        return { kind: 'done', delivery: completed };
      } catch (error) {
        if (!(error instanceof ChannelError)) throw error;
        const context = { deliveryId: delivery.id, channel: route.channel, code: error.code };
        if (error.kind === 'transient') {
          log.warn(context, 'provider unavailable; will retry');
          // Certainly not taken: the next attempt need not wait for this one to be over.
          if (route.channel === 'email' && error.notAccepted) {
            await inClinic(request.clinicId, (tx) => recordAttemptEnded(tx, delivery.id));
          }
          throw new CarebellError('ChannelUnavailable', error.message, { retryAfterMs: error.retryAfterMs });
        }
        if (error.kind === 'opted-out') {
          await recordCarrierOptOut(request, route);
          log.warn(context, 'recipient opted out at the carrier');
          // An opt-out is the patient's word about messages, not about a channel: marketing stops here.
          if (request.category === 'marketing') {
            const closed = await inClinic(request.clinicId, (tx) =>
              complete(tx, request, delivery.id, { status: 'suppressed', reason: 'carrier-opt-out' }),
            );
            return { kind: 'done', delivery: closed };
          }
        } else if (error.kind === 'configuration') {
          log.error(context, 'channel misconfigured; trying the next channel');
        } else {
          log.warn(context, 'permanent failure for this address; trying the next channel');
          // RFC 5321: a 5xx is permanent at any stage; the address is never tried again (a hard bounce).
          if (route.channel === 'email') await recordRejectedEmail(request, delivery.id, route, error);
        }
        lastFailure = error;
      }
    }
    if (lastFailure?.kind === 'configuration') {
      // Nothing about the patient is wrong: keep the message due until an operator fixes the channel.
      throw new CarebellError('ChannelMisconfigured', lastFailure.message);
    }
    const failed = await inClinic(request.clinicId, (tx) =>
      complete(tx, request, delivery.id, { status: 'failed', reason: lastFailure?.code ?? 'unknown' }),
    );
    return { kind: 'done', delivery: failed };
  }

  async function recordRejectedEmail(
    request: SendRequest,
    deliveryId: string,
    route: Route,
    error: ChannelError,
  ) {
    await inClinic(request.clinicId, async (tx) => {
      await suppressAddress(tx, {
        clinicId: request.clinicId,
        channel: 'email',
        addressIndex: route.addressIndex,
        reason: 'hard-bounce',
      });
      await recordDeliveryEvent(tx, {
        clinicId: request.clinicId,
        deliveryId,
        status: 'failed',
        providerStatus: 'smtp-rejected',
        providerError: error.code,
      });
    });
  }

  /** Twilio 21610: the number replied STOP at the carrier. Honour it as an SMS opt-out at once. */
  async function recordCarrierOptOut(request: SendRequest, route: Route) {
    await inClinic(request.clinicId, async (tx) => {
      await suppressAddress(tx, {
        clinicId: request.clinicId,
        channel: route.channel,
        addressIndex: route.addressIndex,
        reason: 'carrier-opt-out',
      });
      for (const category of ['transactional', 'marketing'] as const) {
        await recordConsent(tx, cipher, {
          clinicId: request.clinicId,
          patientId: request.patientId,
          channel: route.channel,
          category,
          granted: false,
          source: 'carrier:twilio-21610',
        });
      }
    });
  }

  function render(clinic: Clinic, patient: PatientRecord, delivery: Delivery, request: SendRequest) {
    const { t, language } = deps.translator.forLanguage(patient.language);
    // Dates and local times in the patient's language: "January 15", "15 de enero"; "9:30 AM", "9:30".
    const dates = Object.fromEntries(
      Object.entries(request.facts).map(([key, value]) => [
        key,
        /^\d{4}-\d{2}-\d{2}$/.test(value)
          ? DateTime.fromISO(value, { zone: patient.timeZone })
              .setLocale(language)
              .toLocaleString({ month: 'long', day: 'numeric' })
          : /^\d{2}:\d{2}$/.test(value)
            ? DateTime.fromISO(value).setLocale(language).toLocaleString(DateTime.TIME_SIMPLE)
            : value,
      ]),
    );
    // Minimum necessary: the clinic's display name (never a legal name that may disclose a condition), its
    // phone, and a short link to the pickup page, where the patient proves who they are before any detail.
    const phone = clinic.contactPhone ? displayPhone(clinic.contactPhone) : undefined;
    const token = linkToken(delivery);
    const values = {
      ...dates,
      clinic: clinic.displayName ?? clinic.name,
      // The FCC's healthcare exemption asks for the sender's contact in every message.
      contact: phone ? t('common:contact', { phone }) : '',
      link: `${deps.publicUrl}/m/${token}`,
    };
    return {
      language,
      marker: token,
      link: values.link,
      sms: t(`${request.template}:sms`, values),
      subject: t(`${request.template}:email.subject`, values),
      text: t(`${request.template}:email.text`, values),
    };
  }

  /** Short, unguessable without the key, and the same on every retry (so a re-rendered body matches). */
  function linkToken(delivery: Delivery): string {
    return cipher.blindIndex('link', delivery.clinicId, delivery.id).slice(0, 12);
  }

  async function deliver(
    route: Route,
    message: ReturnType<typeof render>,
    delivery: Delivery,
    clinic: Clinic,
    category: Category,
    now: number,
  ): Promise<SentMessage> {
    if (route.channel === 'sms') {
      // An earlier attempt reached the provider and then died: ask the provider before sending again,
      // looking back to when the row was claimed (before the first attempt), for this delivery's link.
      if (delivery.lastAttemptAt && delivery.channel === 'sms') {
        const since = new Date(delivery.createdAt.getTime() - RECONCILE_SLACK_MS);
        const already = await deps.sms.findSent({ to: route.address, marker: message.marker, since });
        if (already) return already;
      }
      return deps.sms.send({ to: route.address, body: message.sms, from: clinic.smsSender ?? undefined });
    }
    const { t } = deps.translator.forLanguage(message.language);
    const email = composeEmail(
      { cipher, publicUrl: deps.publicUrl, t, now },
      { clinic, deliveryId: delivery.id, category, rendered: message },
    );
    const link = email.unsubscribeLink;
    // Before the message leaves: the patient may click the moment it arrives.
    if (link) {
      await inClinic(clinic.id, (tx) =>
        ensureUnsubscribeLink(tx, { clinicId: clinic.id, deliveryId: delivery.id, ...link }),
      );
    }
    // SMTP has no look-up: after an attempt that may have been accepted (see decide), a resend keeps the
    // Message-ID, which receivers use to drop a duplicate, rather than risk a reminder lost.
    return deps.email.send({
      ...email.message,
      to: route.address,
      messageId: `${delivery.id}@${deps.email.domain}`,
    });
  }

  return { send, close, inClinic };
}

/** A number as people write it at home: (415) 555-0100 in the US, +44 20 7946 0000 elsewhere. */
function displayPhone(e164: string): string {
  const parsed = parsePhoneNumberFromString(e164);
  if (!parsed) return e164;
  return parsed.country === 'US' ? parsed.formatNational() : parsed.formatInternational();
}

/** A transaction-scoped advisory lock: released at commit, so a crashed worker never holds it. */
async function lock(tx: Transaction, key: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`);
}
