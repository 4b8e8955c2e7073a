// The one send path every message takes: re-read clinic and patient, claim the delivery row, render in
// the patient's language, hand off on the first channel that works (falling back on permanent failures),
// complete the row and audit the send. Reminders and journey steps differ only in what they check first.
import { Context } from '@temporalio/activity';
import { ChannelError } from '../channels/channel-error';
import type { SentMessage } from '../channels/sms-sender';
import { appendAudit } from '../db/queries/audit';
import { getClinic } from '../db/queries/clinics';
import {
  claimDelivery,
  completeDelivery,
  recordAttempt,
  type DeliveryCompletion,
} from '../db/queries/deliveries';
import { getPatient, type PatientRecord } from '../db/queries/patients';
import type { Clinic, Delivery } from '../db/schema';
import { withClinic, type Transaction } from '../db/tenant';
import { CarebellError } from '../domain/errors';
import type { Channel } from '../domain/messaging';
import type { ActivityDeps } from './deps';

export const ACTOR = 'worker';

// A retry that finds an attempt younger than this may be racing a provider call still in flight.
const RECONCILE_LOOKBACK_MS = 5 * 60_000;

export interface DispatchInput {
  clinicId: string;
  patientId: string;
  template: string;
  dueAt: number;
  idempotencyKey: string;
}

export type Route = { channel: Channel; address: string };

export function createDispatch(deps: ActivityDeps) {
  const { db, cipher, log } = deps;
  const inClinic = <T>(input: { clinicId: string }, work: (tx: Transaction) => Promise<T>) =>
    withClinic(db, input.clinicId, work);

  /** Re-reads clinic and patient (they may have changed while the workflow slept) and claims the row. */
  function prepare<T>(input: DispatchInput, extra: (tx: Transaction, patient: PatientRecord) => Promise<T>) {
    return inClinic(input, async (tx) => {
      const clinic = await getClinic(tx, input.clinicId);
      const patient = clinic && (await getPatient(tx, cipher, ACTOR, input.clinicId, input.patientId));
      if (!clinic || !patient) {
        throw new CarebellError('PatientNotFound');
      }
      const delivery = await claimDelivery(tx, { ...input, dueAt: new Date(input.dueAt) });
      return { clinic, patient, delivery, extra: await extra(tx, patient) };
    });
  }

  /** Completes the row and records the send in the audit log, in one transaction. */
  function complete(input: DispatchInput, deliveryId: string, outcome: DeliveryCompletion) {
    return inClinic(input, async (tx) => {
      const completed = await completeDelivery(tx, deliveryId, outcome);
      await appendAudit(tx, {
        actor: ACTOR,
        clinicId: input.clinicId,
        action: 'message.send',
        objectType: 'delivery',
        objectId: deliveryId,
        outcome: completed.status === 'sent' || completed.status === 'delivered' ? 'success' : 'failure',
      });
      return completed;
    });
  }

  /** An inactive or deceased patient gets nothing: the delivery ends suppressed, before any other rule. */
  async function suppressIfInactive(
    input: DispatchInput,
    prepared: { patient: PatientRecord; delivery: Delivery },
  ): Promise<Delivery | undefined> {
    if (prepared.patient.status === 'active') return undefined;
    return complete(input, prepared.delivery.id, {
      status: 'suppressed',
      reason: `patient-${prepared.patient.status}`,
    });
  }

  /** `order` of channels, keeping those the patient has a contact point for. */
  function routes(patient: PatientRecord, order: Channel[]): Route[] {
    return order.flatMap((channel) => {
      const contact = patient.contacts.find((candidate) => candidate.channel === channel);
      return contact ? [{ channel, address: contact.address }] : [];
    });
  }

  function render(
    clinic: Clinic,
    patient: PatientRecord,
    delivery: Delivery,
    template: string,
    facts: Record<string, string>,
  ) {
    const { t, language } = deps.translator.forLanguage(patient.language);
    // Minimum necessary: the clinic's name and a link to the pickup page, where the patient proves who
    // they are before any detail is shown.
    const values = { ...facts, clinic: clinic.name, link: `${deps.publicUrl}/m/${delivery.id}` };
    return {
      language,
      sms: t(`${template}:sms`, values),
      subject: t(`${template}:email.subject`, values),
      text: t(`${template}:email.text`, values),
    };
  }

  async function deliver(
    route: Route,
    message: ReturnType<typeof render>,
    delivery: Delivery,
  ): Promise<SentMessage> {
    if (route.channel === 'sms') {
      const sms = { to: route.address, body: message.sms };
      // An earlier attempt reached the provider call and then died: ask the provider before sending again.
      if (delivery.lastAttemptAt && delivery.channel === 'sms') {
        const since = new Date(delivery.lastAttemptAt.getTime() - RECONCILE_LOOKBACK_MS);
        const already = await deps.sms.findSent(sms, since);
        if (already) return already;
      }
      return deps.sms.send(sms);
    }
    // Email has no provider look-up; a resend keeps the Message-ID so receivers can drop the duplicate.
    return deps.email.send({
      to: route.address,
      subject: message.subject,
      text: message.text,
      messageId: `${delivery.id}@carebell`,
    });
  }

  /** Hands the message off on the first route that works and completes the row; never returns pending. */
  async function dispatch(
    input: DispatchInput,
    prepared: { clinic: Clinic; patient: PatientRecord; delivery: Delivery },
    order: Route[],
    facts: Record<string, string> = {},
  ): Promise<Delivery> {
    const { clinic, patient, delivery } = prepared;
    if (order.length === 0)
      return complete(input, delivery.id, { status: 'suppressed', reason: 'no-contact-point' });
    const message = render(clinic, patient, delivery, input.template, facts);
    let lastPermanent: ChannelError | undefined;
    for (const route of order) {
      await inClinic(input, (tx) =>
        recordAttempt(tx, delivery.id, { channel: route.channel, language: message.language }),
      );
      try {
        const sent = await deliver(route, message, delivery);
        const completed = await complete(input, delivery.id, {
          status: sent.status === 'delivered' ? 'delivered' : 'sent',
          channel: route.channel,
          providerMessageId: sent.providerMessageId,
          dueAt: new Date(input.dueAt),
        });
        log.info(
          { deliveryId: delivery.id, channel: route.channel, attempt: Context.current().info.attempt },
          'message handed to provider',
        );
        return completed;
      } catch (error) {
        if (!(error instanceof ChannelError)) throw error;
        if (!error.permanent) {
          log.warn(
            { deliveryId: delivery.id, channel: route.channel, code: error.code },
            'provider unavailable; will retry',
          );
          throw new CarebellError('ChannelUnavailable', error.message);
        }
        log.warn(
          { deliveryId: delivery.id, channel: route.channel, code: error.code },
          'permanent failure; trying next channel',
        );
        lastPermanent = error;
      }
    }
    return complete(input, delivery.id, { status: 'failed', reason: lastPermanent?.code ?? 'unknown' });
  }

  return { inClinic, prepare, complete, suppressIfInactive, routes, dispatch };
}
