// A world for the pickup page: real PostgreSQL, the SMS peer, Temporal (EHR events start journeys there,
// with no worker: the test runs the send step itself), the send path, and the HTTP API listening on a
// loopback port that the messages' links point to.
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { sql } from 'drizzle-orm';
import { buildApi, type Api } from '../../api/server';
import type { SendJourneyStepInput, SendJourneyStepOutcome } from '../../domain/journey';
import { getDeliveryByKey } from '../../db/queries/deliveries';
import { withClinic } from '../../db/tenant';
import { handleEvent } from '../../usecases/handle-event';
import { activitiesFor, createPatient } from './fixtures';
import {
  connectTestTemporal,
  createTestDatabase,
  startTestPeers,
  testCipher,
  testLog,
  uniqueTaskQueue,
} from './harness';

export interface PickupWorld {
  api: Api;
  /** The API's origin, which the messages' links start with. */
  origin: string;
  database: Awaited<ReturnType<typeof createTestDatabase>>;
  peers: Awaited<ReturnType<typeof startTestPeers>>;
  /** Books an appointment with pickup-only details through an EHR event and sends its first reminder. */
  sendReminder: (options: {
    dateOfBirth: string;
    phone: string;
    language?: string;
    details?: Record<string, string>;
  }) => Promise<{ clinicId: string; patientId: string; deliveryId: string; link: string; sms: string }>;
  close: () => Promise<void>;
}

export const CLINIC_PHONE = '+13125550100';
export const CLINIC_PHONE_DISPLAY = '(312) 555-0100';

export async function startPickupWorld(): Promise<PickupWorld> {
  const [database, peers, temporal] = await Promise.all([
    createTestDatabase(),
    startTestPeers(),
    connectTestTemporal(),
  ]);
  const taskQueue = uniqueTaskQueue('pickup');
  const api = await buildApi(
    {
      db: database.db,
      cipher: testCipher,
      client: temporal.client,
      taskQueue,
      log: testLog,
      publicUrl: 'http://127.0.0.1',
      previewServerPath: () => Promise.resolve(undefined),
    },
    { rateLimitPerMinute: 100_000 },
  );
  const origin = await api.listen({ host: '127.0.0.1', port: 0 });
  const activities = await activitiesFor(database.db, peers, undefined, { publicUrl: origin });

  return {
    api,
    origin,
    database,
    peers,
    async sendReminder(options) {
      const { clinicId, patientId } = await createPatient(database.db, {
        dateOfBirth: options.dateOfBirth,
        phone: options.phone,
        language: options.language,
      });
      await withClinic(database.db, clinicId, (tx) =>
        tx.execute(
          sql`update clinics set display_name = 'Riverside Clinic', contact_phone = ${CLINIC_PHONE} where id = ${clinicId}`,
        ),
      );
      const appointmentDate = new Date(Date.now() + 3 * 24 * 3600 * 1000).toISOString().slice(0, 10);
      const outcome = await handleEvent(
        { db: database.db, cipher: testCipher, client: temporal.client, taskQueue },
        clinicId,
        {
          type: 'appointment.booked',
          patient: { id: patientId },
          eventId: `appt-${randomUUID()}`,
          subject: `appt-${randomUUID()}`,
          anchorDate: appointmentDate,
          facts: { appointmentTime: '09:30' },
          details: options.details,
        },
      );
      const started = outcome.started.find((enrolled) => enrolled.journey === 'appointment-reminder');
      if (!started) throw new Error(`the event started ${JSON.stringify(outcome.started)}`);
      await temporal.client.workflow
        .getHandle(started.workflowId)
        .terminate('the test sends the step itself');
      const step: SendJourneyStepInput = {
        clinicId,
        patientId,
        workflowId: started.workflowId,
        journeyKey: started.journey,
        stepId: 'first-reminder',
        category: 'transactional',
        template: 'appointment-reminder',
        variant: null,
        channels: ['sms'],
        facts: { appointmentDate, appointmentTime: '09:30' },
        dueAt: Date.now(),
        idempotencyKey: `test:${randomUUID()}`,
      };
      const sent = await new MockActivityEnvironment({ attempt: 1 }).run<
        [SendJourneyStepInput],
        SendJourneyStepOutcome,
        typeof activities.sendJourneyStep
      >(activities.sendJourneyStep.bind(activities), step);
      if (sent.kind !== 'done' || sent.entry.outcome !== 'sent')
        throw new Error(`the step was not sent: ${JSON.stringify(sent)}`);
      const delivery = await withClinic(database.db, clinicId, (tx) =>
        getDeliveryByKey(tx, clinicId, step.idempotencyKey),
      );
      const sms = peers.sms.messages().find((message) => message.to === options.phone);
      const link = sms && /(https?:\/\/\S+\/m\/[A-Za-z0-9_-]+)/.exec(sms.body)?.[1];
      if (!sms || !link) throw new Error('the SMS peer received no message with a link');
      return { clinicId, patientId, deliveryId: delivery!.id, link, sms: sms.body };
    },
    close: async () => {
      await api.close();
      await peers.stop();
      await temporal.close();
      await database.close();
    },
  };
}
