// `node --import tsx bench/cluster-smoke.ts`: proof that carebell runs on Temporal's own server with
// PostgreSQL persistence (the cluster benchmark's topology). Starts a throw-away embedded PostgreSQL,
// the Temporal server on it, the local SMS and SMTP peers and a carebell worker; sends one reminder
// through the whole send path; prints how long each part took; stops everything.
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../config';
import { connectDatabase } from '../db/client';
import { insertClinic } from '../db/queries/clinics';
import { insertPatient } from '../db/queries/patients';
import { withClinic } from '../db/tenant';
import { createLogger } from '../infra/logger';
import { startServices } from '../infra/services';
import { temporalConnectionOptions } from '../infra/temporal-connection';
import { installTemporalRuntime } from '../infra/temporal-runtime';
import { createDataConverter } from '../security/data-converter';
import { FieldCipher } from '../security/field-cipher';
import { buildKeyRing } from '../security/key-ring';
import { daytimeZone } from '../test/support/daytime-zone';
import type { ReminderResult } from '../domain/reminder';
import { startReminder } from '../usecases/start-workflows';
import { startWorker } from '../worker/start-worker';

const say = (line: string) => process.stderr.write(`[cluster-smoke] ${line}\n`);
const since = (started: number) => `${((performance.now() - started) / 1000).toFixed(2)}s`;
installTemporalRuntime(createLogger('error'));

/** A smoke test fails rather than hangs: a send held back by a rule would otherwise wait for days. */
async function withinSeconds<T>(limit: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish in ${limit}s`)), limit * 1000);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'carebell-cluster-smoke-'));
const config = loadConfig({
  CAREBELL_DATA_DIR: dataDir,
  TEMPORAL_SERVER_PATH: process.env.TEMPORAL_SERVER_PATH,
  TEMPORAL_SQL_TOOL_PATH: process.env.TEMPORAL_SQL_TOOL_PATH,
});
const figures: [string, string][] = [];
let started = performance.now();
const services = await startServices(config, {
  persistent: false,
  fixedPorts: false,
  progress: say,
  temporal: 'cluster',
});
figures.push(['PostgreSQL, Temporal server (schemas, namespace), peers', since(started)]);
// Stopped in reverse: the data dir goes last, after the servers that write to it.
const stops: (() => Promise<unknown>)[] = [
  () => fs.rm(dataDir, { recursive: true, force: true }),
  services.stop,
];
let failed = false;
try {
  const { endpoints } = services;
  const keyRing = buildKeyRing([{ id: 'smoke', key: randomBytes(32) }], randomBytes(32));
  started = performance.now();
  const worker = await startWorker(endpoints, {
    publicUrl: 'https://carebell.smoke',
    log: createLogger('silent'),
    keyRing,
  });
  stops.push(worker.shutdown);
  figures.push(['carebell worker (sweep schedules, workflow bundle)', since(started)]);

  const connection = await Connection.connect(temporalConnectionOptions(endpoints.temporal));
  stops.push(() => connection.close());
  const client = new Client({
    connection,
    namespace: endpoints.temporal.namespace,
    dataConverter: createDataConverter(keyRing),
  });
  const database = connectDatabase(endpoints.databaseUrl, { max: 2 });
  stops.push(database.close);

  // Due now and allowed by every rule: a zone where it is daytime, and a patient and number of its own
  // for each reminder (the caps allow one healthcare text a day per number).
  const clinicId = randomUUID();
  const cipher = new FieldCipher(keyRing);
  await withClinic(database.db, clinicId, (tx) =>
    insertClinic(tx, { id: clinicId, name: 'Smoke Clinic', timeZone: daytimeZone }),
  );
  const newPatient = (index: number) =>
    withClinic(database.db, clinicId, (tx) =>
      insertPatient(
        tx,
        cipher,
        'cluster-smoke',
        clinicId,
        {
          name: `Smoke Patient ${index}`,
          dateOfBirth: '1970-01-01',
          language: 'en',
          timeZone: daytimeZone,
          preferredChannel: 'sms',
        },
        [{ channel: 'sms', address: `+1415555012${index}` }],
      ),
    );

  // The first reminder also pays for the worker's first polls and cold caches; the second shows the
  // steady cost of one send on this topology.
  let result: ReminderResult | undefined;
  for (const [index, which] of ['first', 'second'].entries()) {
    const patientId = await newPatient(index);
    started = performance.now();
    const handle = await startReminder(client, endpoints.temporal.taskQueue, {
      clinicId,
      patientId,
      journey: 'cluster-smoke',
      episode: randomUUID(),
      template: 'reminder',
      due: { kind: 'after', milliseconds: 0 },
    });
    result = await withinSeconds(60, `the ${which} reminder`, handle.result());
    figures.push([`${which} reminder, started to ${result.status}`, since(started)]);
    if (result.status !== 'sent' && result.status !== 'delivered')
      throw new Error(`the ${which} reminder ended ${result.status} (${result.reason})`);
  }
  const texts = services.peers?.sms.messages().length ?? 0;
  if (texts !== 2) throw new Error(`the SMS peer holds ${texts} texts, not 2`);

  process.stdout.write(
    `\ncarebell on Temporal server with PostgreSQL persistence (${endpoints.temporal.address})\n\n`,
  );
  for (const [what, time] of figures) process.stdout.write(`${what.padEnd(60)} ${time.padStart(7)}\n`);
  process.stdout.write(
    `\nreminders ${result?.status} by ${result?.channel}, ${texts} texts at the SMS peer\n`,
  );
} catch (error) {
  failed = true;
  say(`failed: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  started = performance.now();
  for (const stop of stops.reverse()) await stop().catch(() => {});
  say(`stopped everything in ${since(started)}`);
}
process.exit(failed ? 1 : 0);
