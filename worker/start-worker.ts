import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { DEFAULT_WORKFLOW_CACHE_SIZE, type DkimSettings } from '../config';
import { createSmtpEmailSender } from '../channels/smtp-email';
import { createTwilioSmsSender } from '../channels/twilio-sms';
import { connectDatabase } from '../db/client';
import { createTranslator } from '../locales';
import { createDataConverter } from '../security/data-converter';
import { FieldCipher } from '../security/field-cipher';
import type { KeyRing } from '../security/key-ring';
import type { Logger } from '../infra/logger';
import type { Endpoints } from '../infra/endpoints';
import { ensureSweepSchedules } from '../usecases/sweep-schedules';
import { temporalConnectionOptions } from '../infra/temporal-connection';
import { workflowCode } from './workflow-bundle';

export interface RunningWorker {
  worker: Worker;
  /** Stops polling, lets in-flight activities finish, then closes connections. */
  shutdown: () => Promise<void>;
  /** Resolves when the worker has stopped, rejects if it failed. */
  done: Promise<void>;
}

export async function startWorker(
  endpoints: Endpoints,
  options: {
    publicUrl: string;
    log: Logger;
    keyRing: KeyRing;
    reloadKeyRing?: () => KeyRing;
    /** Signs every email when set (DKIM_*). */
    dkim?: DkimSettings;
    /** Journeys kept in memory between steps (CAREBELL_WORKFLOW_CACHE_SIZE); 0 replays every step. */
    workflowCacheSize?: number;
    /** Sweep schedules created paused (CAREBELL_SWEEPS=paused). */
    sweepsPaused?: boolean;
  },
): Promise<RunningWorker> {
  if (!endpoints.twilio || !endpoints.smtp)
    throw new Error('a worker needs both TWILIO_* and SMTP_* settings');
  const { twilio, smtp } = endpoints;
  const database = connectDatabase(endpoints.databaseUrl);
  const { namespace, taskQueue } = endpoints.temporal;
  const connection = await NativeConnection.connect(temporalConnectionOptions(endpoints.temporal));
  const clientConnection = await Connection.connect(temporalConnectionOptions(endpoints.temporal));
  const dataConverter = createDataConverter(options.keyRing, options.reloadKeyRing);
  const client = new Client({ connection: clientConnection, namespace, dataConverter });
  await ensureSweepSchedules(client, taskQueue, { paused: options.sweepsPaused });
  const email = createSmtpEmailSender(smtp, { dkim: options.dkim });
  const { prebuilt, ...code } = await workflowCode();
  options.log.info({ prebuilt }, prebuilt ? 'workflows from the prebuilt bundle' : 'bundling workflows');
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue,
    ...code,
    dataConverter,
    activities: createActivities({
      db: database.db,
      cipher: new FieldCipher(options.keyRing, options.reloadKeyRing),
      sms: createTwilioSmsSender(twilio),
      email,
      translator: await createTranslator(),
      publicUrl: options.publicUrl,
      log: options.log,
      clock: Date.now,
      temporal: { client, taskQueue },
    }),
    shutdownGraceTime: '10 seconds',
    // Explicit rather than the SDK's default, which follows the heap limit (about 2,300 on a 4 GB heap):
    // what a worker holds in memory is then a setting an operator chose, not an accident of the host.
    maxCachedWorkflows: options.workflowCacheSize ?? DEFAULT_WORKFLOW_CACHE_SIZE,
  });
  const done = worker.run().finally(async () => {
    email.close();
    await connection.close();
    await clientConnection.close();
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
