// What every benchmark shares: the services (chosen in endpoints.ts), carebell's worker and API and the
// baselines' worker as processes of their own, clients for both sides, one clinic with an API key and
// the bench's journeys, a fast way to create patients, and the watch on the peers. Built once per run.
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { zoneInDaytime } from '../test/support/daytime-zone';
import { renderEmailHtml } from '../channels/email-html';
import { connectDatabase, type Database, type DatabaseHandle } from '../db/client';
import { insertApiKey } from '../db/queries/api-keys';
import { insertClinic } from '../db/queries/clinics';
import { publishJourneyVersion } from '../db/queries/journeys';
import { withClinic } from '../db/tenant';
import { freePort } from '../infra/free-port';
import { temporalConnectionOptions } from '../infra/temporal-connection';
import { render } from '../locales';
import { generateApiKey } from '../security/api-key';
import { createDataConverter } from '../security/data-converter';
import { FieldCipher } from '../security/field-cipher';
import { buildKeyRing, type KeyRing } from '../security/key-ring';
import type { EnrollmentDeps } from '../usecases/enroll';
import { chooseEndpoints, type BenchServices } from './endpoints';
import { sendNowJourney } from './journeys';
import { PeerArrivals } from './peer-arrivals';
import { PatientFactory, type BenchPatient } from './patients';
import { startChild, type RunningChild } from './processes';
import type { Scale } from './scale';
import type { RawMessage } from './workflows/raw';

export interface BenchContext {
  scale: Scale;
  say: (line: string) => void;
  dataDir: string;
  services: BenchServices;
  /** The application's login (row-level security applies), as the worker and API use it. */
  db: Database;
  /** The tables' owner: figures that span clinics, and the audit switch. */
  owner: Database;
  cipher: FieldCipher;
  /** carebell's client: encrypted payloads, as the API and CLI use. */
  client: Client;
  /** The baselines' client: plain payloads. */
  rawClient: Client;
  taskQueue: string;
  clinicId: string;
  /** The patients' zone: daytime now, so no send waits for its sending window. */
  zone: string;
  patients: PatientFactory;
  arrivals: PeerArrivals;
  worker: RunningChild;
  rawWorker: RunningChild;
  api: { child: RunningChild; url: string; key: string };
  enrollmentDeps: () => EnrollmentDeps;
  /** The message carebell sends a patient, for the baselines to send the same words. */
  rawMessage: (patient: BenchPatient) => RawMessage;
  close: (options: { keepData: boolean }) => Promise<void>;
}

const keyRingEnv = (keyRing: KeyRing) => ({
  CAREBELL_KEYRING: [...keyRing.keys].map(([id, key]) => `${id}:${key.toString('base64')}`).join(','),
  CAREBELL_BLIND_INDEX_KEY: keyRing.blindIndexKey.toString('base64'),
});

export async function createContext(options: {
  scale: Scale;
  cluster: boolean;
  say: (line: string) => void;
}): Promise<BenchContext> {
  const { say } = options;
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'carebell-bench-'));
  const undo: (() => Promise<unknown>)[] = [];
  const close = async ({ keepData }: { keepData: boolean }) => {
    for (const step of undo.reverse()) await step().catch(() => {});
    if (keepData) say(`data and process logs kept in ${dataDir}`);
    else await fs.rm(dataDir, { recursive: true, force: true });
  };
  try {
    const services = await chooseEndpoints({ cluster: options.cluster, dataDir, say });
    undo.push(services.stop);
    const { endpoints } = services;
    const keyRing = buildKeyRing([{ id: 'bench', key: randomBytes(32) }], randomBytes(32));
    const cipher = new FieldCipher(keyRing);
    const handles: DatabaseHandle[] = [
      // The API's pool size, so events handled here and through the API have the same connections.
      connectDatabase(endpoints.databaseUrl, { max: 10 }),
      connectDatabase(endpoints.ownerDatabaseUrl!, { max: 2, as: 'owner' }),
    ];
    for (const handle of handles) undo.push(handle.close);
    const [app, owner] = handles as [DatabaseHandle, DatabaseHandle];
    const connection = await Connection.connect(temporalConnectionOptions(endpoints.temporal));
    undo.push(() => connection.close());
    const { namespace, taskQueue } = endpoints.temporal;
    const client = new Client({ connection, namespace, dataConverter: createDataConverter(keyRing) });
    const rawClient = new Client({ connection, namespace });

    const zone = zoneInDaytime(3);
    const clinicId = randomUUID();
    const apiKey = generateApiKey();
    await withClinic(app.db, clinicId, async (tx) => {
      await insertClinic(tx, {
        id: clinicId,
        name: 'Bench Clinic',
        timeZone: zone,
        contactPhone: '+13125550100',
      });
      await insertApiKey(tx, {
        clinicId,
        name: 'bench',
        prefix: apiKey.prefix,
        keyHash: apiKey.hash,
        scopes: ['ehr:write'],
      });
      await publishJourneyVersion(tx, clinicId, sendNowJourney(), 0);
    });

    const arrivals = await PeerArrivals.start(services.peerDirs);
    undo.push(() => Promise.resolve(arrivals.stop()));

    const { twilio, smtp } = endpoints;
    // Status callbacks go to a closed port: the webhook's work is left out of every figure (on both sides).
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const apiPort = await freePort();
    const common = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      XDG_CACHE_HOME: process.env.XDG_CACHE_HOME,
      LOG_LEVEL: 'info',
      CAREBELL_DATA_DIR: path.join(dataDir, 'processes'),
      CAREBELL_APP_DATABASE_URL: endpoints.databaseUrl,
      TEMPORAL_ADDRESS: endpoints.temporal.address,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_TASK_QUEUE: taskQueue,
      TWILIO_ACCOUNT_SID: twilio!.accountSid,
      TWILIO_AUTH_TOKEN: twilio!.authToken,
      TWILIO_FROM_NUMBER: twilio!.fromNumber,
      TWILIO_API_BASE_URL: twilio!.apiBaseUrl,
      SMTP_URL: smtp!.url,
      SMTP_FROM: smtp!.from,
      SMTP_CA_FILE: smtp!.caFile,
      CAREBELL_WORKFLOW_CACHE_SIZE: process.env.CAREBELL_WORKFLOW_CACHE_SIZE,
      // As the image and the npm scripts run the worker (README, Configuration); the baselines' worker too.
      MALLOC_TRIM_THRESHOLD_: process.env.MALLOC_TRIM_THRESHOLD_ ?? '131072',
      // No sweep runs in the middle of a benchmark.
      CAREBELL_SWEEPS: 'paused',
      ...keyRingEnv(keyRing),
    };
    const logDir = path.join(dataDir, 'logs');
    say('starting carebell worker, API and the baselines’ worker (processes of their own)');
    // Beyond one machine, workers share the task queue; the first is the one whose memory is measured.
    const carebellWorker = (index: number) =>
      startChild({
        name: index === 0 ? 'worker' : `worker-${index + 1}`,
        script: 'processes/worker.ts',
        env: { ...common, CAREBELL_PUBLIC_URL: nowhere },
        readyLine: 'worker running',
        logDir,
      });
    const [rawWorker, apiChild, ...workers] = await Promise.all([
      startChild({
        name: 'raw-worker',
        script: 'bench/raw-worker.ts',
        env: { ...common, CAREBELL_PUBLIC_URL: nowhere },
        readyLine: 'raw worker running',
        logDir,
      }),
      startChild({
        name: 'api',
        script: 'processes/api.ts',
        env: {
          ...common,
          CAREBELL_PUBLIC_URL: `http://127.0.0.1:${apiPort}`,
          CAREBELL_API_PORT: String(apiPort),
          // 50 connections from one key: the limit would measure itself.
          CAREBELL_API_RATE_LIMIT: '1000000',
        },
        readyLine: 'api listening',
        logDir,
      }),
      ...Array.from({ length: services.workers }, (_, index) => carebellWorker(index)),
    ]);
    undo.push(rawWorker.stop, apiChild.stop, ...workers.map((child) => child.stop));
    const worker = workers[0]!;

    const runTag = randomBytes(3).toString('hex');
    const link = `https://carebell.bench/m/${randomBytes(9).toString('base64url')}`;
    const words = render({
      template: 'reminder',
      language: 'en',
      facts: {},
      timeZone: zone,
      now: Date.now(),
      clinic: 'Bench Clinic',
      phone: '(312) 555-0100',
      link,
    });
    const html = renderEmailHtml({
      language: words.language,
      subject: words.subject,
      text: words.text,
      link,
      clinicName: 'Bench Clinic',
      brandColor: null,
    });

    return {
      scale: options.scale,
      say,
      dataDir,
      services,
      db: app.db,
      owner: owner.db,
      cipher,
      client,
      rawClient,
      taskQueue,
      clinicId,
      zone,
      patients: new PatientFactory(app.db, cipher, clinicId, zone, runTag),
      arrivals,
      worker,
      rawWorker,
      api: { child: apiChild, url: `http://127.0.0.1:${apiPort}`, key: apiKey.key },
      enrollmentDeps: () => ({ db: app.db, cipher, client, taskQueue }),
      rawMessage: (patient) =>
        patient.channel === 'sms'
          ? { channel: 'sms', to: patient.phone, body: words.sms }
          : { channel: 'email', to: patient.email, subject: words.subject, text: words.text, html },
      close,
    };
  } catch (error) {
    // Keep what a failed start left (its logs say why), unless nothing was started at all.
    await close({ keepData: undo.length > 0 });
    throw error;
  }
}
