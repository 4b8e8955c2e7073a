import { randomUUID } from 'node:crypto';
import { Worker } from '@temporalio/worker';
import type { NativeConnection } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { createSmtpEmailSender } from '../../channels/smtp-email';
import { createTwilioSmsSender } from '../../channels/twilio-sms';
import type { Database } from '../../db/client';
import { insertClinic } from '../../db/queries/clinics';
import { insertPatient } from '../../db/queries/patients';
import type { Channel } from '../../db/schema';
import { withClinic } from '../../db/tenant';
import { createTranslator } from '../../locales';
import type { LocalPeers } from '../../runtime/local-peers';
import { workflowsPath } from '../../runtime/worker';
import { testCipher, testDataConverter, testLog } from './harness';

/** A new clinic with one patient, written through the application role like production does. */
export async function createPatient(
  db: Database,
  options: {
    timeZone?: string;
    language?: string;
    channel?: Channel;
    phone?: string;
    email?: string;
    name?: string;
    dateOfBirth?: string;
  } = {},
) {
  const clinicId = randomUUID();
  return withClinic(db, clinicId, async (tx) => {
    await insertClinic(tx, {
      id: clinicId,
      name: 'Test Clinic',
      timeZone: options.timeZone ?? 'America/New_York',
    });
    const patientId = await insertPatient(
      tx,
      testCipher,
      'test',
      clinicId,
      {
        name: options.name ?? 'Test Patient',
        dateOfBirth: options.dateOfBirth ?? '1980-01-01',
        language: options.language ?? 'en',
        timeZone: options.timeZone ?? 'America/New_York',
        preferredChannel: options.channel ?? 'sms',
      },
      [
        { channel: 'sms', address: options.phone ?? '+14155550123' },
        { channel: 'email', address: options.email ?? 'patient@example.com' },
      ],
    );
    return { clinicId, patientId };
  });
}

export async function activitiesFor(db: Database, peers: LocalPeers) {
  return createActivities({
    db,
    cipher: testCipher,
    sms: createTwilioSmsSender(peers.twilio),
    email: createSmtpEmailSender(peers.smtpSettings),
    translator: await createTranslator(),
    publicUrl: 'https://carebell.test',
    log: testLog,
  });
}

export async function createTestWorker(
  connection: NativeConnection,
  taskQueue: string,
  db: Database,
  peers: LocalPeers,
) {
  return Worker.create({
    connection,
    taskQueue,
    workflowsPath,
    dataConverter: testDataConverter,
    activities: await activitiesFor(db, peers),
  });
}
