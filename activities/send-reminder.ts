import { ApplicationFailure, Context } from '@temporalio/activity';
import { ChannelError } from '../channels/channel-error';
import type { SentMessage } from '../channels/sms-sender';
import { getClinic } from '../db/queries/clinics';
import { claimDelivery, completeDelivery, recordAttempt } from '../db/queries/deliveries';
import { getPatientWithContacts, type PatientWithContacts } from '../db/queries/patients';
import type { Channel, Clinic, Delivery } from '../db/schema';
import type { ReminderResult } from '../workflows/reminder-types';
import type { ActivityDeps } from '.';

export interface SendReminderInput {
  clinicId: string;
  patientId: string;
  template: string;
  dueAt: number;
  idempotencyKey: string;
}

// A retry that finds an attempt younger than this may be racing a provider call still in flight.
const RECONCILE_LOOKBACK_MS = 5 * 60_000;

export function createSendActivities(deps: ActivityDeps) {
  const { db, log } = deps;

  async function loadRecipient(
    input: SendReminderInput,
  ): Promise<{ clinic: Clinic; patient: PatientWithContacts }> {
    const [clinic, patient] = await Promise.all([
      getClinic(db, input.clinicId),
      getPatientWithContacts(db, input.clinicId, input.patientId),
    ]);
    if (!clinic || !patient) {
      throw ApplicationFailure.nonRetryable('patient not found in this clinic', 'PatientNotFound');
    }
    return { clinic, patient };
  }

  /** The patient's preferred channel first, then any other channel they can be reached on. */
  function channelOrder(patient: PatientWithContacts): { channel: Channel; address: string }[] {
    const order: Channel[] = [patient.preferredChannel, patient.preferredChannel === 'sms' ? 'email' : 'sms'];
    return order.flatMap((channel) => {
      const contact = patient.contacts.find((candidate) => candidate.channel === channel);
      return contact ? [{ channel, address: contact.address }] : [];
    });
  }

  function render(clinic: Clinic, patient: PatientWithContacts, delivery: Delivery, template: string) {
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
      const { clinic, patient } = await loadRecipient(input);
      const delivery = await claimDelivery(db, { ...input, dueAt: new Date(input.dueAt) });
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
        await recordAttempt(db, delivery.id, { channel, language: message.language });
        try {
          const sent = await deliver(channel, address, message, delivery);
          const completed = await completeDelivery(db, delivery.id, {
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
      const delivery = await claimDelivery(db, { ...input, dueAt: new Date(input.dueAt) });
      return toResult(await completeDelivery(db, delivery.id, { status: 'failed', reason: input.reason }));
    },
  };
}
