// The one send path every message takes (reminders and journey steps): at the moment of the attempt,
// under a lock on the patient and its addresses, re-read the patient, the clinic, consent, the suppression
// list and what was sent (or is in flight) to the patient and its addresses; decide by the one rule
// (rules/sending.ts decideSend); then render in the patient's language and hand off on the first route
// that works, falling back on a recipient's permanent failure. Every due send ends as one delivery row.
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { sql } from 'drizzle-orm';
import { ChannelError } from '../channels/channel-error';
import type { SentMessage } from '../channels/sms-sender';
import { appendAudit, appendAudits, type AuditEntry } from '../db/queries/audit';
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
import { archiveDeliveryContent } from '../db/queries/delivery-contents';
import {
  decryptEnrollmentDetails,
  type Enrollment,
  getEnrollmentByWorkflow,
  plannedTransactionalSends,
} from '../db/queries/enrollments';
import { ensureMessageLink } from '../db/queries/message-links';
import { patientAudit, readPatient, type PatientRecord } from '../db/queries/patients';
import { recordDeliveryEvent } from '../db/queries/replies';
import { suppressAddress, suppressedAddresses } from '../db/queries/suppressions';
import { ensureUnsubscribeLink } from '../db/queries/unsubscribe-links';
import type { Clinic, Delivery } from '../db/schema';
import { withClinic, type Transaction } from '../db/tenant';
import { CarebellError } from '../domain/errors';
import type { Category, Channel } from '../domain/messaging';
import { settingsOf } from '../journeys/clinic-settings';
import { displayPhone, pageTexts, templateVersion, type ClinicTexts } from '../locales';
import { LINK_LIFETIME_MS, messageLinkToken, messageLinkTokenHash } from '../security/message-link';
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
  /** The clinic's own texts for the template, by language, from its journey version. */
  texts?: ClinicTexts;
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

/** What deliveries.request_enc holds. */
export interface StoredRequest {
  channels: SendRequest['channels'];
  facts: Record<string, string>;
}

export type SendResult =
  | { kind: 'done'; delivery: Delivery }
  | { kind: 'defer'; until: number; reason: 'quiet-hours' | 'frequency-cap' };

/**
 * The caller's own bookkeeping, written in the transaction that settles the send (completes its row or
 * defers it), with the moment it is deferred to, or null once it is over.
 */
export type Settle = (tx: Transaction, deferredUntil: Date | null) => Promise<void>;
const nothingToSettle: Settle = () => Promise.resolve();

export function createSendPath(deps: ActivityDeps) {
  const { db, cipher, log } = deps;
  const inClinic = <T>(clinicId: string, work: (tx: Transaction) => Promise<T>) =>
    withClinic(db, clinicId, work);
  // Where Twilio reports what became of each text (api/routes/twilio-webhooks.ts).
  const statusCallback = `${deps.publicUrl}/webhooks/twilio/status`;

  /**
   * The claim, with what a fallback needs to send it again on another channel when the provider later
   * reports it undelivered (activities/fallback.ts): the channel order and the template's values.
   */
  function claimWithRequest(request: SendRequest): DeliveryClaim {
    const id = randomUUID();
    const requestEnc = cipher.encrypt(
      JSON.stringify({ channels: request.channels, facts: request.facts } satisfies StoredRequest),
      { clinicId: request.clinicId, table: 'deliveries', column: 'request_enc', rowId: id },
    );
    return { ...claimOf(request), id, requestEnc };
  }

  /** Completes the row and records the send in the audit log, in one transaction. */
  async function complete(
    tx: Transaction,
    request: SendRequest,
    deliveryId: string,
    outcome: DeliveryCompletion,
    settle: Settle,
  ): Promise<Delivery> {
    const [completed] = await Promise.all([completeDelivery(tx, deliveryId, outcome), settle(tx, null)]);
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
  function close(
    request: SendRequest,
    outcome: DeliveryCompletion,
    settle = nothingToSettle,
  ): Promise<Delivery> {
    return inClinic(request.clinicId, async (tx) => {
      const delivery = await claimDelivery(tx, claimOf(request));
      return complete(tx, request, delivery.id, outcome, settle);
    });
  }

  /**
   * Everything the decision needs, read under locks so that two workers cannot both pass the caps. The
   * statements go out in a few pipelined batches rather than one round trip each, and the audit rows are
   * appended last: the audit chain's lock, which every writer waits for, is held for the commit only.
   */
  function decide(request: SendRequest, now: number, settle: Settle) {
    return inClinic(request.clinicId, async (tx) => {
      const { clinicId, patientId } = request;
      const [, clinic, patient, enrollment] = await Promise.all([
        lock(tx, [`patient:${patientId}`]),
        getClinic(tx, clinicId),
        readPatient(tx, cipher, clinicId, patientId),
        request.journey && getEnrollmentByWorkflow(tx, clinicId, request.journey.workflowId),
      ]);
      // Before the claim, whose row could not refer to them.
      if (!clinic || !patient) throw new CarebellError('PatientNotFound');
      const audits = [patientAudit(ACTOR, clinicId, 'patient.read', patientId, 'success')];
      const decided = await decideLocked(tx, request, now, settle, { clinic, patient, enrollment }, audits);
      await appendAudits(tx, audits);
      return decided;
    });
  }

  async function decideLocked(
    tx: Transaction,
    request: SendRequest,
    now: number,
    settle: Settle,
    read: { clinic: Clinic; patient: PatientRecord; enrollment: Enrollment | undefined },
    audits: AuditEntry[],
  ) {
    const { clinic, patient } = read;
    const contacts: Route[] = patient.contacts;
    const indexes = [...new Set(contacts.map((contact) => contact.addressIndex))].sort();
    // One batch: the statements run in this order on the transaction's connection, so the reads that
    // follow the address lock see every send whose decision held it before. They are wasted only when the
    // claim finds the send already settled (a retry after it was done).
    const [delivery, , consents, suppressed, earlier, planned] = await Promise.all([
      claimDelivery(tx, claimWithRequest(request)),
      // Family members sharing a phone are different patients: the destination is locked too.
      lock(
        tx,
        indexes.map((index) => `address:${index}`),
      ),
      latestConsents(tx, request.clinicId, request.patientId),
      suppressedAddresses(tx, request.clinicId, indexes),
      sendsForCaps(tx, {
        clinicId: request.clinicId,
        patientId: request.patientId,
        addressIndexes: indexes,
        since: new Date(now - WEEK_MS),
        now: new Date(now),
        excludingKey: request.idempotencyKey,
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
    if (delivery.status !== 'pending') return { outcome: 'settled' as const, delivery };
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
        settle,
      );
      return { outcome: 'settled' as const, delivery: closed };
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
      return { outcome: 'busy' as const, busyFor };
    }
    if (decision.kind !== 'send') {
      await settle(tx, new Date(decision.until));
      return { outcome: 'defer' as const, defer: decision };
    }
    const message = render(clinic, patient, delivery, request, now);
    const first = decision.routes[0]!;
    await Promise.all([
      // In flight from here on: a concurrent decision for this patient or address counts it.
      recordAttempt(tx, delivery.id, {
        channel: first.channel,
        addressIndex: first.addressIndex,
        language: message.language,
        languageFallback: message.fallback,
      }),
      archive(tx, request, clinic, delivery, read.enrollment, message, now, audits),
    ]);
    return { outcome: 'send' as const, delivery, routes: decision.routes, clinic, message };
  }

  /**
   * Before the message leaves: its pickup link (stored as a hash, expiring) and the archive of what it
   * says, with the enrollment's pickup-only details re-encrypted for the delivery, kept for the clinic's
   * retention period. Every attempt writes the same (the first row stands).
   */
  async function archive(
    tx: Transaction,
    request: SendRequest,
    clinic: Clinic,
    delivery: Delivery,
    enrollment: Enrollment | undefined,
    message: ReturnType<typeof render>,
    now: number,
    audits: AuditEntry[],
  ) {
    const details = enrollment ? decryptEnrollmentDetails(cipher, enrollment) : null;
    if (details)
      audits.push({
        actor: ACTOR,
        clinicId: request.clinicId,
        action: 'enrollment.details.read',
        objectType: 'enrollment',
        objectId: enrollment!.id,
        outcome: 'success',
      });
    await Promise.all([
      ensureMessageLink(tx, {
        clinicId: request.clinicId,
        deliveryId: delivery.id,
        purpose: 'pickup',
        tokenHash: messageLinkTokenHash(message.marker),
        expiresAt: new Date(now + LINK_LIFETIME_MS),
      }),
      archiveDeliveryContent(tx, cipher, {
        deliveryId: delivery.id,
        clinicId: request.clinicId,
        template: request.template,
        templateVersion: templateVersion(request.template, message.language),
        language: message.language,
        // The email channel's HTML, once it renders one, goes here too.
        rendered: { sms: message.sms, subject: message.subject, text: message.text },
        details,
        retainUntil: new Date(now + clinic.retentionDays * DAY_MS),
      }),
    ]);
  }

  async function send(request: SendRequest, settle = nothingToSettle): Promise<SendResult> {
    // The rules hold at the moment the message leaves: a retry hours after the due time checks again.
    const now = Math.max(request.dueAt, deps.clock());
    const decided = await decide(request, now, settle);
    if (decided.outcome === 'settled') return { kind: 'done', delivery: decided.delivery };
    if (decided.outcome === 'defer') return decided.defer;
    if (decided.outcome === 'busy') {
      throw new CarebellError('ChannelUnavailable', 'an earlier email attempt may still be in flight', {
        retryAfterMs: decided.busyFor,
      });
    }
    const { routes, clinic, message, delivery } = decided;
    let lastFailure: ChannelError | undefined;
    for (const [position, route] of routes.entries()) {
      if (position > 0) {
        await inClinic(request.clinicId, (tx) =>
          recordAttempt(tx, delivery.id, {
            channel: route.channel,
            addressIndex: route.addressIndex,
            language: message.language,
            languageFallback: message.fallback,
          }),
        );
      }
      try {
        const sent = await deliver(route, message, delivery, clinic, request.category, now);
        const completed = await inClinic(request.clinicId, (tx) =>
          complete(
            tx,
            request,
            delivery.id,
            {
              status: sent.status === 'delivered' ? 'delivered' : 'sent',
              channel: route.channel,
              addressIndex: route.addressIndex,
              providerMessageId: sent.providerMessageId,
              dueAt: new Date(now),
            },
            settle,
          ),
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
              complete(tx, request, delivery.id, { status: 'suppressed', reason: 'carrier-opt-out' }, settle),
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
      complete(
        tx,
        request,
        delivery.id,
        { status: 'failed', reason: lastFailure?.code ?? 'unknown' },
        settle,
      ),
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

  /**
   * The whole message in one language: the patient's, else the clinic's default, else English, whichever
   * first has every text. Dates, times and day counts are written for that language in the patient's zone.
   */
  function render(
    clinic: Clinic,
    patient: PatientRecord,
    delivery: Delivery,
    request: SendRequest,
    now: number,
  ) {
    const token = linkToken(delivery);
    const message = deps.translator.render({
      template: request.template,
      language: patient.language,
      clinicLanguage: settingsOf(clinic.settings).defaultLanguage,
      texts: request.texts,
      facts: request.facts,
      timeZone: patient.timeZone,
      now,
      // Minimum necessary: the clinic's display name (never a legal name that may disclose a condition),
      // its phone, and a short link to the pickup page, where the patient proves who they are first.
      clinic: clinic.displayName ?? clinic.name,
      phone: clinic.contactPhone ? displayPhone(clinic.contactPhone) : undefined,
      link: `${deps.publicUrl}/m/${token}`,
    });
    return { ...message, marker: token, link: `${deps.publicUrl}/m/${token}` };
  }

  /** Unguessable without the key, for the pickup page only, and the same on every retry (so a re-rendered body matches). */
  function linkToken(delivery: Delivery): string {
    return messageLinkToken(cipher, 'pickup', delivery.clinicId, delivery.id);
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
      return deps.sms.send({
        to: route.address,
        body: message.sms,
        from: clinic.smsSender ?? undefined,
        statusCallback,
      });
    }
    const { t } = pageTexts('common', { language: message.language });
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

/**
 * Transaction-scoped advisory locks, released at commit so a crashed worker never holds one; taken in one
 * statement, in the keys' sorted order, so two transactions wanting the same keys cannot deadlock.
 */
async function lock(tx: Transaction, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  await tx.execute(
    sql`select count(pg_advisory_xact_lock(hashtextextended(k, 0)))
        from (select unnest(array[${sql.join(keys, sql`, `)}]::text[]) as k order by k) as ordered`,
  );
}
