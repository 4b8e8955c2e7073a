import { randomUUID } from 'node:crypto';
import { Worker } from '@temporalio/worker';
import type { NativeConnection } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { createActivities, type ActivityDeps } from '../../activities';
import { createSmtpEmailSender } from '../../channels/smtp-email';
import { createTwilioSmsSender } from '../../channels/twilio-sms';
import type { Database } from '../../db/client';
import { insertClinic } from '../../db/queries/clinics';
import { insertPatient } from '../../db/queries/patients';
import type { Channel } from '../../domain/messaging';
import { withClinic } from '../../db/tenant';
import { createTranslator } from '../../locales';
import type { LocalPeers } from '../../infra/local-peers';
import { daytimeZone } from './daytime-zone';
import { temporalAddress, testCipher, testDataConverter, testLog, testWorkflowCode } from './harness';

export { daytimeZone };

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
    sexAtBirth?: string;
    externalId?: string;
    /** An existing clinic to add the patient to. */
    clinicId?: string;
  } = {},
) {
  const clinicId = options.clinicId ?? randomUUID();
  return withClinic(db, clinicId, async (tx) => {
    if (!options.clinicId) {
      await insertClinic(tx, {
        id: clinicId,
        name: 'Test Clinic',
        timeZone: options.timeZone ?? daytimeZone,
      });
    }
    const patientId = await insertPatient(
      tx,
      testCipher,
      'test',
      clinicId,
      {
        name: options.name ?? 'Test Patient',
        dateOfBirth: options.dateOfBirth ?? '1980-01-01',
        language: options.language ?? 'en',
        timeZone: options.timeZone ?? daytimeZone,
        preferredChannel: options.channel ?? 'sms',
        sexAtBirth: options.sexAtBirth,
        externalId: options.externalId,
      },
      [
        { channel: 'sms', address: options.phone ?? '+14155550123' },
        { channel: 'email', address: options.email ?? 'patient@example.com' },
      ],
    );
    return { clinicId, patientId };
  });
}

/**
 * The real activities against the test database and peers. Sweeps start journeys through `temporal`;
 * tests that do not sweep get a client that never connects.
 */
export async function activitiesFor(
  db: Database,
  peers: LocalPeers,
  temporal: ActivityDeps['temporal'] = {
    client: new Client({ connection: Connection.lazy({ address: temporalAddress() }) }),
    taskQueue: 'unused',
  },
  overrides: Partial<ActivityDeps> = {},
) {
  return createActivities({
    db,
    cipher: testCipher,
    sms: createTwilioSmsSender(peers.twilio),
    email: createSmtpEmailSender(peers.smtpSettings),
    translator: await createTranslator(),
    publicUrl: 'https://carebell.test',
    log: testLog,
    clock: Date.now,
    temporal,
    ...overrides,
  });
}

export async function createTestWorker(
  connection: NativeConnection,
  taskQueue: string,
  db: Database,
  peers: LocalPeers,
  client?: Client,
  overrides: Partial<ActivityDeps> = {},
) {
  return Worker.create({
    connection,
    taskQueue,
    ...(await testWorkflowCode()),
    dataConverter: testDataConverter,
    activities: await activitiesFor(db, peers, client && { client, taskQueue }, overrides),
  });
}
