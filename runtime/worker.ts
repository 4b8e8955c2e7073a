import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createSmtpEmailSender } from '../channels/smtp-email';
import { createTwilioSmsSender } from '../channels/twilio-sms';
import { connectDatabase } from '../db/client';
import { createTranslator } from '../locales';
import { createDataConverter } from '../security/data-converter';
import { FieldCipher } from '../security/field-cipher';
import type { KeyRing } from '../security/key-ring';
import type { Logger } from './logger';
import type { Endpoints } from './services';
import { temporalConnectionOptions } from './temporal-connection';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface RunningWorker {
  worker: Worker;
  /** Stops polling, lets in-flight activities finish, then closes connections. */
  shutdown: () => Promise<void>;
  /** Resolves when the worker has stopped, rejects if it failed. */
  done: Promise<void>;
}

export async function startWorker(
  endpoints: Endpoints,
  options: { publicUrl: string; log: Logger; keyRing: KeyRing; reloadKeyRing?: () => KeyRing },
): Promise<RunningWorker> {
  if (!endpoints.twilio || !endpoints.smtp)
    throw new Error('a worker needs both TWILIO_* and SMTP_* settings');
  const { twilio, smtp } = endpoints;
  const database = connectDatabase(endpoints.databaseUrl);
  const connection = await NativeConnection.connect(temporalConnectionOptions(endpoints.temporal));
  const worker = await Worker.create({
    connection,
    namespace: endpoints.temporal.namespace,
    taskQueue: endpoints.temporal.taskQueue,
    workflowsPath,
    dataConverter: createDataConverter(options.keyRing, options.reloadKeyRing),
    activities: createActivities({
      db: database.db,
      cipher: new FieldCipher(options.keyRing, options.reloadKeyRing),
      sms: createTwilioSmsSender(twilio),
      email: createSmtpEmailSender(smtp),
      translator: await createTranslator(),
      publicUrl: options.publicUrl,
      log: options.log,
    }),
    shutdownGraceTime: '10 seconds',
  });
  const done = worker.run().finally(async () => {
    await connection.close();
    await database.close();
  });
  return {
    worker,
    done,
    shutdown: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
