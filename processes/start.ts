// The all-in-one embedded default: PostgreSQL, the Temporal dev server, the local peers, a worker, the HTTP
// API and the payload codec endpoint in one command, with everything kept under the data dir.
import { loadConfig } from '../config';
import { ensurePrivateDir } from '../lib/private-files';
import { ShutdownSteps } from '../lib/shutdown-steps';
import { connectDatabase } from '../db/client';
import { startCodecServer } from '../security/codec-server';
import { keyRingReloader, resolveKeyRing, resolveOperators } from '../infra/key-ring-source';
import { createLogger } from '../infra/logger';
import { removeEndpoints, writeEndpoints } from '../infra/endpoints';
import { startServices } from '../infra/services';
import { installTemporalRuntime } from '../infra/temporal-runtime';
import { startWorker } from '../worker/start-worker';
import { startApi } from '../api/start-api';
import { onShutdownSignal, runMain } from '../infra/process-lifecycle';

runMain(async () => {
  const started = Date.now();
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  installTemporalRuntime(log);
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const sayIndented = (line: string) => say(`  ${line}`);
  say(`carebell: data dir ${config.dataDir}`);

  // Stopped in reverse order: worker first (it still needs Temporal and the database), PostgreSQL last.
  const stops = new ShutdownSteps();
  try {
    // Before anything writes into it: the key ring, tokens and passwords live here.
    await ensurePrivateDir(config.dataDir);
    const keyRing = await resolveKeyRing(config, { create: true, say: sayIndented });
    const reloadKeyRing = keyRingReloader(config);
    const services = await startServices(config, {
      persistent: true,
      fixedPorts: true,
      progress: sayIndented,
    });
    // Its own parts are bounded and reported one by one.
    stops.add('services', () => services.stop(sayIndented), 30_000);
    const auditDb = connectDatabase(services.endpoints.databaseUrl, { max: 2 });
    stops.add('audit connections', auditDb.close, 5_000);
    const codec = await startCodecServer({
      port: config.codec.port,
      keyRing,
      reloadKeyRing,
      operators: await resolveOperators(config),
      allowedOrigin: config.codec.corsOrigin,
      db: auditDb.db,
    });
    stops.add('codec endpoint', codec.close, 5_000);
    const worker = await startWorker(services.endpoints, {
      publicUrl: config.publicUrl,
      log,
      keyRing,
      dkim: config.dkim,
      reloadKeyRing,
      workflowCacheSize: config.worker.workflowCacheSize,
      sweepsPaused: config.worker.sweepsPaused,
    });
    // If Temporal already stopped (Ctrl-C reaches it too), the worker cannot say goodbye; do not wait long.
    stops.add('worker', worker.shutdown, 10_000);
    const api = await startApi(services.endpoints, {
      ...config.api,
      publicUrl: config.publicUrl,
      log,
      keyRing,
      reloadKeyRing,
      testServerPath: config.embedded.temporalTestServerPath,
    });
    stops.add('API', api.close, 5_000);
    await writeEndpoints(config.dataDir, services.endpoints);
    stops.add('runtime.json', () => removeEndpoints(config.dataDir), 5_000);

    const { endpoints, peers } = services;
    const database = new URL(endpoints.databaseUrl);
    say(`  PostgreSQL   ${database.host}${database.pathname}${config.databaseUrl ? '' : ' (embedded)'}`);
    say(`  Temporal     ${endpoints.temporal.address} namespace ${endpoints.temporal.namespace}`);
    if (endpoints.temporalUiUrl) say(`  Temporal UI  ${endpoints.temporalUiUrl}`);
    say(`  worker       task queue ${endpoints.temporal.taskQueue}`);
    say(
      `  API          ${api.url} (public URL ${config.publicUrl}; docs at /docs, contract at /openapi.json)`,
    );
    say(`  codec        ${codec.url} (payload decoding for operators, bearer token required)`);
    if (peers) {
      say(`  SMS peer     ${peers.sms.url} (messages in ${config.dataDir}/peers/sms)`);
      say(`  SMTP peer    127.0.0.1:${peers.smtp.port} STARTTLS (messages in ${peers.smtp.messagesDir})`);
    }
    say(`carebell ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);

    let shuttingDown = false;
    onShutdownSignal(async (signal) => {
      shuttingDown = true;
      say(`carebell: ${signal} received, shutting down`);
      await stops.runOrThrow(sayIndented);
      say('carebell: stopped');
    });
    // A worker that fails while shutting down is the shutdown's to report: failing here would exit before
    // PostgreSQL and Temporal were stopped.
    await worker.done.catch((error: unknown) => {
      if (!shuttingDown) throw error;
    });
  } catch (error) {
    await stops.run(sayIndented);
    throw error;
  }
});
