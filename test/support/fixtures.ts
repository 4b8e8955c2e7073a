import { Worker } from '@temporalio/worker';
import type { NativeConnection } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { createSmtpEmailSender } from '../../channels/smtp-email';
import { createTwilioSmsSender } from '../../channels/twilio-sms';
import type { Database } from '../../db/client';
import { insertClinic } from '../../db/queries/clinics';
import { insertPatient } from '../../db/queries/patients';
import type { Channel } from '../../db/schema';
import { createTranslator } from '../../locales';
import type { LocalPeers } from '../../runtime/local-peers';
import { workflowsPath } from '../../runtime/worker';
import { testLog } from './harness';

export async function createPatient(
  db: Database,
  options: { timeZone?: string; language?: string; channel?: Channel; phone?: string; email?: string } = {},
) {
  const clinic = await insertClinic(db, {
    name: 'Test Clinic',
    timeZone: options.timeZone ?? 'America/New_York',
  });
  const patient = await insertPatient(db, {
    clinicId: clinic.id,
    name: 'Test Patient',
    dateOfBirth: '1980-01-01',
    language: options.language ?? 'en',
    timeZone: options.timeZone ?? 'America/New_York',
    preferredChannel: options.channel ?? 'sms',
    contacts: [
      { channel: 'sms', address: options.phone ?? '+14155550123' },
      { channel: 'email', address: options.email ?? 'patient@example.com' },
    ],
  });
  return { clinicId: clinic.id, patientId: patient.id };
}

export async function activitiesFor(db: Database, peers: LocalPeers) {
  return createActivities({
    db,
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
    activities: await activitiesFor(db, peers),
  });
}
