// The HTTP API over the test services: a real database, Temporal and worker behind it, requests through
// Fastify's inject (the whole request path: parsing, auth, schemas, serialization), two clinics with keys.
import { randomUUID } from 'node:crypto';
import type { Worker } from '@temporalio/worker';
import { sql } from 'drizzle-orm';
import { buildApi, type Api } from '../../api/server';
import { insertApiKey } from '../../db/queries/api-keys';
import { insertClinic } from '../../db/queries/clinics';
import { withClinic } from '../../db/tenant';
import { API_SCOPES, generateApiKey, type ApiScope } from '../../security/api-key';
import { createTestWorker } from './fixtures';
import {
  connectTestTemporal,
  createTestDatabase,
  startTestPeers,
  testCipher,
  testLog,
  testServerPath,
  uniqueTaskQueue,
} from './harness';

export interface ApiHarness {
  api: Api;
  database: Awaited<ReturnType<typeof createTestDatabase>>;
  peers: Awaited<ReturnType<typeof startTestPeers>>;
  temporal: Awaited<ReturnType<typeof connectTestTemporal>>;
  taskQueue: string;
  /** A clinic and a key with every scope, for each of two clinics. */
  clinics: { id: string; key: string }[];
  /** A key of the first clinic with only these scopes. */
  keyWith: (scopes: ApiScope[]) => Promise<string>;
  close: () => Promise<void>;
}

export async function startApiHarness(
  options: {
    rateLimitPerMinute?: number;
    bounceWebhookSecret?: string;
    /** The worker's clock, for a test that must move the send path's "now" (caps count per day). */
    clock?: () => number;
  } = {},
): Promise<ApiHarness> {
  const [database, peers, temporal] = await Promise.all([
    createTestDatabase(),
    startTestPeers(),
    connectTestTemporal(),
  ]);
  const taskQueue = uniqueTaskQueue('api');
  const worker: Worker = await createTestWorker(
    temporal.nativeConnection,
    taskQueue,
    database.db,
    peers,
    temporal.client,
    options.clock ? { clock: options.clock } : {},
  );
  const running = worker.run();
  const api = await buildApi(
    {
      db: database.db,
      cipher: testCipher,
      client: temporal.client,
      taskQueue,
      log: testLog,
      publicUrl: 'https://carebell.test',
      twilio: { authToken: peers.twilio.authToken, sharedNumber: peers.twilio.fromNumber },
      previewServerPath: () => Promise.resolve(testServerPath()),
    },
    {
      rateLimitPerMinute: options.rateLimitPerMinute ?? 100_000,
      bulkBodyLimitBytes: 16 * 1024 * 1024,
      bounceWebhookSecret: options.bounceWebhookSecret,
    },
  );
  await api.ready();
  // The SMS peer's webhooks (status callbacks, inbound texts) reach this API as they would over HTTP.
  peers.sms.setWebhookTransport(async ({ url, headers, body }) => {
    const { pathname, search } = new URL(url);
    const answer = await api.inject({ method: 'POST', url: pathname + search, headers, payload: body });
    return { status: answer.statusCode, body: answer.body };
  });

  const keyFor = (clinicId: string, scopes: readonly string[]) =>
    withClinic(database.db, clinicId, async (tx) => {
      const { key, prefix, hash } = generateApiKey();
      await insertApiKey(tx, { clinicId, name: 'test', prefix, keyHash: hash, scopes: [...scopes] });
      return key;
    });
  const clinics: ApiHarness['clinics'] = [];
  for (const name of ['Clinic A', 'Clinic B']) {
    const id = randomUUID();
    await withClinic(database.db, id, (tx) =>
      insertClinic(tx, { id, name, timeZone: 'America/Chicago', contactPhone: '+13125550100' }),
    );
    clinics.push({ id, key: await keyFor(id, API_SCOPES) });
  }
  return {
    api,
    database,
    peers,
    temporal,
    taskQueue,
    clinics,
    keyWith: (scopes) => keyFor(clinics[0]!.id, scopes),
    close: async () => {
      await api.close();
      worker.shutdown();
      await running;
      await temporal.close();
      await peers.stop();
      await database.close();
    },
  };
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** Rows in every table a request could write to: a refused request must leave them all unchanged. */
export async function rowCounts(harness: ApiHarness): Promise<Record<string, number>> {
  const tables = [
    'patients',
    'contact_points',
    'consents',
    'enrollments',
    'journey_definitions',
    'journey_activations',
    'import_jobs',
    'idempotent_requests',
    'screening_records',
    'processed_events',
  ];
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const [row] = await harness.database.owner.db.execute<{ count: string }>(
      // Table names from the list above, never from input.
      sql.raw(`select count(*) as count from ${table}`),
    );
    counts[table] = Number(row?.count);
  }
  return counts;
}
