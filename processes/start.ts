// The all-in-one embedded default: PostgreSQL, the Temporal dev server, the local peers, a worker and the
// payload codec endpoint in one command, with everything kept under the data dir.
import { loadConfig } from '../config';
import { connectDatabase } from '../db/client';
import { startCodecServer } from '../runtime/codec-server';
import { keyRingReloader, resolveKeyRing, resolveOperators } from '../runtime/key-ring-source';
import { createLogger } from '../runtime/logger';
import { removeEndpoints, startServices, writeEndpoints } from '../runtime/services';
import { installTemporalRuntime } from '../runtime/temporal-runtime';
import { startWorker } from '../runtime/worker';
import { onShutdownSignal, runMain, settleWithin } from './main';

runMain(async () => {
  const started = Date.now();
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  installTemporalRuntime(log);
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(`carebell: data dir ${config.dataDir}`);

  // Stopped in reverse order: worker first (it still needs Temporal and the database), PostgreSQL last.
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    // splice: each step runs once even if a signal and a failure both ask for shutdown.
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
  };
  try {
    const keyRing = await resolveKeyRing(config, { create: true, say: (line) => say(`  ${line}`) });
    const reloadKeyRing = keyRingReloader(config);
    const services = await startServices(config, {
      persistent: true,
      fixedPorts: true,
      progress: (line) => say(`  ${line}`),
    });
    stops.push(services.stop);
    const auditDb = connectDatabase(services.endpoints.databaseUrl, { max: 2 });
    stops.push(auditDb.close);
    const codec = await startCodecServer({
      port: config.codec.port,
      keyRing,
      reloadKeyRing,
      operators: await resolveOperators(config),
      allowedOrigin: config.codec.corsOrigin,
      db: auditDb.db,
    });
    stops.push(codec.close);
    const worker = await startWorker(services.endpoints, {
      publicUrl: config.publicUrl,
      log,
      keyRing,
      reloadKeyRing,
    });
    // If Temporal already stopped (Ctrl-C reaches it too), the worker cannot say goodbye; do not wait long.
    stops.push(() => settleWithin(worker.shutdown(), 10_000));
    await writeEndpoints(config.dataDir, services.endpoints);
    stops.push(() => removeEndpoints(config.dataDir));

    const { endpoints, peers } = services;
    const database = new URL(endpoints.databaseUrl);
    say(`  PostgreSQL   ${database.host}${database.pathname}${config.databaseUrl ? '' : ' (embedded)'}`);
    say(`  Temporal     ${endpoints.temporal.address} namespace ${endpoints.temporal.namespace}`);
    if (endpoints.temporalUiUrl) say(`  Temporal UI  ${endpoints.temporalUiUrl}`);
    say(`  worker       task queue ${endpoints.temporal.taskQueue}`);
    say(`  codec        ${codec.url} (payload decoding for operators, bearer token required)`);
    if (peers) {
      say(`  SMS peer     ${peers.sms.url} (messages in ${config.dataDir}/peers/sms)`);
      say(`  SMTP peer    127.0.0.1:${peers.smtp.port} STARTTLS (messages in ${peers.smtp.messagesDir})`);
    }
    say(`carebell ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);

    onShutdownSignal(async (signal) => {
      say(`carebell: ${signal} received, shutting down`);
      await stopAll();
      say('carebell: stopped');
    });
    await worker.done;
  } catch (error) {
    await stopAll();
    throw error;
  }
});
