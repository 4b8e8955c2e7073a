import { ApplicationFailure, Context } from '@temporalio/activity';
import { ChannelError } from '../channels/channel-error';
import type { SentMessage } from '../channels/sms-sender';
import { getClinic } from '../db/queries/clinics';
import {
  claimDelivery,
  completeDelivery,
  recordAttempt,
  type DeliveryOutcome,
} from '../db/queries/deliveries';
import { appendAudit } from '../db/queries/audit';
import { getPatient, type PatientRecord } from '../db/queries/patients';
import type { Channel, Clinic, Delivery } from '../db/schema';
import { withClinic, type Transaction } from '../db/tenant';
import type { ReminderResult } from '../workflows/reminder-types';
import type { ActivityDeps } from '.';

export interface SendReminderInput {
  clinicId: string;
  patientId: string;
  template: string;
  dueAt: number;
  idempotencyKey: string;
}

const ACTOR = 'worker';

// A retry that finds an attempt younger than this may be racing a provider call still in flight.
const RECONCILE_LOOKBACK_MS = 5 * 60_000;

export function createSendActivities(deps: ActivityDeps) {
  const { db, cipher, log } = deps;
  const inClinic = <T>(input: { clinicId: string }, work: (tx: Transaction) => Promise<T>) =>
    withClinic(db, input.clinicId, work);

  /** Re-reads clinic and patient (preferences may have changed while the workflow slept) and claims the row. */
  function prepare(input: SendReminderInput) {
    return inClinic(input, async (tx) => {
      const clinic = await getClinic(tx, input.clinicId);
      const patient = clinic && (await getPatient(tx, cipher, ACTOR, input.clinicId, input.patientId));
      if (!clinic || !patient) {
        throw ApplicationFailure.nonRetryable('patient not found in this clinic', 'PatientNotFound');
      }
      const delivery = await claimDelivery(tx, { ...input, dueAt: new Date(input.dueAt) });
      return { clinic, patient, delivery };
    });
  }

  /** Completes the row and records the send in the audit log, in one transaction. */
  function complete(input: SendReminderInput, deliveryId: string, outcome: DeliveryOutcome) {
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

  /** The patient's preferred channel first, then any other channel they can be reached on. */
  function channelOrder(patient: PatientRecord): { channel: Channel; address: string }[] {
    const order: Channel[] = [patient.preferredChannel, patient.preferredChannel === 'sms' ? 'email' : 'sms'];
    return order.flatMap((channel) => {
      const contact = patient.contacts.find((candidate) => candidate.channel === channel);
      return contact ? [{ channel, address: contact.address }] : [];
    });
  }

  function render(clinic: Clinic, patient: PatientRecord, delivery: Delivery, template: string) {
    const { t, language } = deps.translator.forLanguage(patient.language);
    // Minimum necessary: the clinic's name and a link to the pickup page, where the patient proves who
    // they are before any detail is shown.
    const values = { clinic: clinic.name, link: `${deps.publicUrl}/m/${delivery.id}` };
    return {
      language,
      sms: t(`${template}:sms`, values),
      subject: t(`${template}:email.subject`, values),
      text: t(`${template}:email.text`, values),
    };
  }

  async function deliver(
    channel: Channel,
    address: string,
    message: ReturnType<typeof render>,
    delivery: Delivery,
  ): Promise<SentMessage> {
    if (channel === 'sms') {
      const sms = { to: address, body: message.sms };
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
      to: address,
      subject: message.subject,
      text: message.text,
      messageId: `${delivery.id}@carebell`,
    });
  }

  function toResult(delivery: Delivery): ReminderResult {
    if (delivery.status === 'pending') throw new Error('a pending delivery has no result yet');
    return {
      deliveryId: delivery.id,
      status: delivery.status,
      channel: delivery.channel,
      providerMessageId: delivery.providerMessageId,
      reason: delivery.reason,
      dueAt: delivery.dueAt.getTime(),
    };
  }

  return {
    /**
     * The whole send path in one activity (one Temporal round-trip): claim the delivery row, pick the
     * channel, render in the patient's language, hand off to the provider, complete the row.
     */
    async sendReminder(input: SendReminderInput): Promise<ReminderResult> {
      const { clinic, patient, delivery } = await prepare(input);
      if (delivery.status !== 'pending') return toResult(delivery);

      const channels = channelOrder(patient);
      if (channels.length === 0) {
        return toResult(
          await completeDelivery(db, delivery.id, { status: 'suppressed', reason: 'no-contact-point' }),
        );
      }
      const message = render(clinic, patient, delivery, input.template);
      let lastPermanent: ChannelError | undefined;
      for (const { channel, address } of channels) {
        await inClinic(input, (tx) =>
          recordAttempt(tx, delivery.id, { channel, language: message.language }),
        );
        try {
          const sent = await deliver(channel, address, message, delivery);
          const completed = await complete(input, delivery.id, {
            status: sent.status === 'delivered' ? 'delivered' : 'sent',
            channel,
            providerMessageId: sent.providerMessageId,
          });
          log.info(
            { deliveryId: delivery.id, channel, attempt: Context.current().info.attempt },
            'reminder handed to provider',
          );
          return toResult(completed);
        } catch (error) {
          if (!(error instanceof ChannelError)) throw error;
          if (!error.permanent) {
            log.warn(
              { deliveryId: delivery.id, channel, code: error.code },
              'provider unavailable; will retry',
            );
            throw ApplicationFailure.retryable(error.message, 'ChannelUnavailable');
          }
          log.warn(
            { deliveryId: delivery.id, channel, code: error.code },
            'permanent failure; trying next channel',
          );
          lastPermanent = error;
        }
      }
      return toResult(
        await completeDelivery(db, delivery.id, {
          status: 'failed',
          reason: lastPermanent?.code ?? 'unknown',
        }),
      );
    },

    /** Closes a delivery that could not be handed off in time, so nothing due disappears silently. */
    async recordUnsentDelivery(input: SendReminderInput & { reason: string }): Promise<ReminderResult> {
      const delivery = await inClinic(input, (tx) =>
        claimDelivery(tx, { ...input, dueAt: new Date(input.dueAt) }),
      );
      return toResult(await complete(input, delivery.id, { status: 'failed', reason: input.reason }));
    },
  };
}
