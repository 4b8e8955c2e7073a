// The HTTP API on its own, stateless: run as many as the load needs beside the workers, on any machine
// that reaches Temporal and Postgres (or beside a running `npm start`, which it joins).
import { loadConfig } from '../config';
import { startApi } from '../api/start-api';
import { createLogger } from '../infra/logger';
import { keyRingReloader, resolveKeyRing } from '../infra/key-ring-source';
import { onShutdownSignal, runMain } from '../infra/process-lifecycle';
import { joinEndpoints } from '../infra/endpoints';
import { installTemporalRuntime } from '../infra/temporal-runtime';

runMain(async () => {
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'carebell-api');
  installTemporalRuntime(log);
  const endpoints = await joinEndpoints(config, { channels: false });
  const keyRing = await resolveKeyRing(config, { create: false });
  const api = await startApi(endpoints, {
    ...config.api,
    publicUrl: config.publicUrl,
    log,
    keyRing,
    reloadKeyRing: keyRingReloader(config),
    testServerPath: config.embedded.temporalTestServerPath,
  });
  log.info({ url: api.url, publicUrl: config.publicUrl }, 'api listening');
  onShutdownSignal(() => api.close());
});
