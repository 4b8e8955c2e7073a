// The baselines' worker, a process of its own like carebell's (processes/worker.ts), so both sides of every
// ratio pay for the same process boundary. It sends through the same channel adapters to the same peers,
// with none of carebell's rules, rows or encryption. Configured like a worker (the environment).
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createSmtpEmailSender } from '../channels/smtp-email';
import { createTwilioSmsSender } from '../channels/twilio-sms';
import { loadConfig } from '../config';
import { createLogger } from '../infra/logger';
import { onShutdownSignal, runMain } from '../infra/process-lifecycle';
import { joinEndpoints } from '../infra/endpoints';
import { temporalConnectionOptions } from '../infra/temporal-connection';
import { installTemporalRuntime } from '../infra/temporal-runtime';
import { RAW_TASK_QUEUE, type RawActivities } from './workflows/raw';

runMain(async () => {
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'bench-raw-worker');
  installTemporalRuntime(log);
  const endpoints = await joinEndpoints(config);
  const sms = createTwilioSmsSender(endpoints.twilio!);
  const email = createSmtpEmailSender(endpoints.smtp!);
  // The peer reports each text's progress here, as it does for carebell's (both go to the same place).
  const statusCallback = `${config.publicUrl}/webhooks/twilio/status`;
  const activities: RawActivities = {
    noop: (input) => Promise.resolve(input),
    async post(message) {
      const sent =
        message.channel === 'sms'
          ? await sms.send({ to: message.to, body: message.body, statusCallback })
          : await email.send({ ...message, messageId: `${randomUUID()}@${email.domain}` });
      return sent.providerMessageId;
    },
  };
  const connection = await NativeConnection.connect(temporalConnectionOptions(endpoints.temporal));
  const worker = await Worker.create({
    connection,
    namespace: endpoints.temporal.namespace,
    taskQueue: RAW_TASK_QUEUE,
    workflowsPath: fileURLToPath(new URL('./workflows/raw.ts', import.meta.url)),
    activities,
    // The same cache as carebell's worker, so a sleeper woken on either side replays alike.
    maxCachedWorkflows: config.worker.workflowCacheSize,
  });
  const running = worker.run().finally(async () => {
    email.close();
    await connection.close();
  });
  log.info({ taskQueue: RAW_TASK_QUEUE }, 'raw worker running');
  onShutdownSignal(async () => {
    worker.shutdown();
    await running;
  });
  await running;
});
