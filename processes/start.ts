// The all-in-one embedded default: PostgreSQL, the Temporal dev server, the local peers and a worker in
// one command, with everything kept under the data dir.
import { loadConfig } from '../config';
import { createLogger } from '../runtime/logger';
import { resolveKeyRing } from '../runtime/key-ring-source';
import { installTemporalRuntime } from '../runtime/temporal-runtime';
import { removeEndpoints, startServices, writeEndpoints } from '../runtime/services';
import { startWorker } from '../runtime/worker';
import { onShutdownSignal, runMain, settleWithin } from './main';

runMain(async () => {
  const started = Date.now();
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  installTemporalRuntime(log);
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(`carebell: data dir ${config.dataDir}`);

  const keyRing = await resolveKeyRing(config, { create: true, say: (line) => say(`  ${line}`) });
  const services = await startServices(config, {
    persistent: true,
    fixedPorts: true,
    progress: (line) => say(`  ${line}`),
  });
  const worker = await startWorker(services.endpoints, { publicUrl: config.publicUrl, log, keyRing }).catch(
    async (error) => {
      await services.stop();
      throw error;
    },
  );
  await writeEndpoints(config.dataDir, services.endpoints);

  const { endpoints, peers } = services;
  const database = new URL(endpoints.databaseUrl);
  say(`  PostgreSQL   ${database.host}${database.pathname}${config.databaseUrl ? '' : ' (embedded)'}`);
  say(`  Temporal     ${endpoints.temporal.address} namespace ${endpoints.temporal.namespace}`);
  if (endpoints.temporalUiUrl) say(`  Temporal UI  ${endpoints.temporalUiUrl}`);
  say(`  worker       task queue ${endpoints.temporal.taskQueue}`);
  if (peers) {
    say(`  SMS peer     ${peers.sms.url} (messages in ${config.dataDir}/peers/sms)`);
    say(`  SMTP peer    127.0.0.1:${peers.smtp.port} STARTTLS (messages in ${peers.smtp.messagesDir})`);
  }
  say(`carebell ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);

  onShutdownSignal(async (signal) => {
    say(`carebell: ${signal} received, shutting down`);
    await removeEndpoints(config.dataDir);
    // If Temporal already stopped (Ctrl-C reaches it too), the worker cannot say goodbye; do not wait long.
    await settleWithin(worker.shutdown(), 10_000);
    await services.stop();
    say('carebell: stopped');
  });
  await worker.done.catch(async (error: unknown) => {
    await removeEndpoints(config.dataDir);
    await services.stop();
    throw error;
  });
});
