// A stateless worker. Run as many as the load needs, on any machine that reaches Temporal and Postgres.
import { loadConfig } from '../config';
import { createLogger } from '../runtime/logger';
import { keyRingReloader, resolveKeyRing } from '../runtime/key-ring-source';
import { installTemporalRuntime } from '../runtime/temporal-runtime';
import { joinEndpoints } from '../runtime/services';
import { startWorker } from '../runtime/worker';
import { onShutdownSignal, runMain } from './main';

runMain(async () => {
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'carebell-worker');
  installTemporalRuntime(log);
  const endpoints = await joinEndpoints(config);
  const keyRing = await resolveKeyRing(config, { create: false });
  const worker = await startWorker(endpoints, {
    publicUrl: config.publicUrl,
    log,
    keyRing,
    reloadKeyRing: keyRingReloader(config),
  });
  log.info(
    { taskQueue: endpoints.temporal.taskQueue, namespace: endpoints.temporal.namespace },
    'worker running',
  );
  onShutdownSignal(() => worker.shutdown());
  await worker.done;
});
