// A stateless worker. Run as many as the load needs, on any machine that reaches Temporal and Postgres.
import { loadConfig } from '../config';
import { createLogger } from '../infra/logger';
import { keyRingReloader, resolveKeyRing } from '../infra/key-ring-source';
import { installTemporalRuntime } from '../infra/temporal-runtime';
import { migrateDatabase } from '../db/client';
import { joinEndpoints } from '../infra/endpoints';
import { startWorker } from '../worker/start-worker';
import { onShutdownSignal, runMain } from '../infra/process-lifecycle';

runMain(async () => {
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'carebell-worker');
  installTemporalRuntime(log);
  const endpoints = await joinEndpoints(config);
  // With the owner's login a worker brings the schema up to date (under a lock, so replicas may race).
  if (config.databaseUrl) await migrateDatabase(config.databaseUrl);
  const keyRing = await resolveKeyRing(config, { create: false });
  const worker = await startWorker(endpoints, {
    publicUrl: config.publicUrl,
    log,
    keyRing,
    dkim: config.dkim,
    reloadKeyRing: keyRingReloader(config),
    workflowCacheSize: config.worker.workflowCacheSize,
    sweepsPaused: config.worker.sweepsPaused,
  });
  log.info(
    { taskQueue: endpoints.temporal.taskQueue, namespace: endpoints.temporal.namespace },
    'worker running',
  );
  onShutdownSignal(() => worker.shutdown());
  await worker.done;
});
