// PHI and Temporal: histories hold only encrypted payloads and encoded failures, and stay readable and
// replayable after the key ring rotates.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Connection } from '@temporalio/client';
import { Client, WorkflowFailedError } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { NativeConnection } from '@temporalio/worker';
import { Worker } from '@temporalio/worker';
import { startReminder } from '../../usecases/start-workflows';
import { createDataConverter } from '../../security/data-converter';
import { buildKeyRing } from '../../security/key-ring';
import type { reminderWorkflow } from '../../workflows/reminder';
import { createPatient, createTestWorker } from '../support/fixtures';
import {
  createTestDatabase,
  startTestPeers,
  testKeyRing,
  uniqueTaskQueue,
  connectTestTemporal,
  testWorkflowCode,
} from '../support/harness';
import { CANARY } from '../support/phi-canary';

describe('PHI in Temporal', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let peers: Awaited<ReturnType<typeof startTestPeers>>;
  let temporal: Awaited<ReturnType<typeof connectTestTemporal>>;
  let connection: Connection;
  let nativeConnection: NativeConnection;
  let client: Client;

  before(async () => {
    [database, peers] = await Promise.all([createTestDatabase(), startTestPeers()]);
    temporal = await connectTestTemporal();
    ({ connection, nativeConnection, client } = temporal);
  });
  after(async () => {
    await temporal?.close();
    await peers?.stop();
    await database?.close();
  });

  async function rawHistory(workflowId: string): Promise<string> {
    const response = await connection.workflowService.getWorkflowExecutionHistory({
      namespace: 'default',
      execution: { workflowId },
    });
    const bytes =
      proto.temporal.api.workflowservice.v1.GetWorkflowExecutionHistoryResponse.encode(response).finish();
    return Buffer.from(bytes).toString('latin1');
  }

  it('keeps histories free of plaintext, and readable and replayable after rotation', async () => {
    const patient = await createPatient(database.db, CANARY);
    const taskQueue = uniqueTaskQueue('phi');
    const worker = await createTestWorker(nativeConnection, taskQueue, database.db, peers);
    const handle = await startReminder(client, taskQueue, {
      ...patient,
      journey: 'refill',
      episode: randomUUID(),
      template: 'reminder',
      due: { kind: 'after', milliseconds: 0 },
    });
    const result = await worker.runUntil(handle.result());
    assert.equal(result.status, 'sent');

    const raw = await rawHistory(handle.workflowId);
    for (const form of [CANARY.name, CANARY.phone.slice(1), CANARY.email, CANARY.dateOfBirth])
      assert.ok(!raw.includes(form), form);
    // The result names the delivery; without the codec its id would sit in the history in clear.
    assert.ok(!raw.includes(result.deliveryId), 'payloads are encrypted');
    assert.ok(raw.includes('binary/encrypted'));

    const rotatedRing = buildKeyRing(
      [...[...testKeyRing.keys].map(([id, key]) => ({ id, key })), { id: 'rotated', key: randomBytes(32) }],
      testKeyRing.blindIndexKey,
    );
    const rotatedConverter = createDataConverter(rotatedRing);
    const rotatedClient = new Client({ connection, dataConverter: rotatedConverter });
    const reread = await rotatedClient.workflow
      .getHandle<typeof reminderWorkflow>(handle.workflowId)
      .result();
    assert.deepEqual(reread, result);
    const history = await handle.fetchHistory();
    await Worker.runReplayHistory(
      { ...(await testWorkflowCode()), dataConverter: rotatedConverter },
      history,
      handle.workflowId,
    );
  });

  it('encodes failure messages and stack traces', async () => {
    const taskQueue = uniqueTaskQueue('phi-fail');
    const worker = await createTestWorker(nativeConnection, taskQueue, database.db, peers);
    const handle = await startReminder(client, taskQueue, {
      clinicId: randomUUID(),
      patientId: randomUUID(),
      journey: 'refill',
      episode: randomUUID(),
      template: 'reminder',
      due: { kind: 'after', milliseconds: 0 },
    });
    const failure = await worker.runUntil(
      handle.result().then(
        () => undefined,
        (error: unknown) => error,
      ),
    );
    assert.ok(failure instanceof WorkflowFailedError);
    // The activity's failure, wrapped or not (a local activity's comes unwrapped).
    const messages: string[] = [];
    for (let cause: unknown = failure.cause; cause instanceof Error; cause = cause.cause)
      messages.push(cause.message);
    assert.ok(
      messages.some((message) => /patient not found/.test(message)),
      'an authorised client decodes it',
    );
    const raw = await rawHistory(handle.workflowId);
    assert.ok(!raw.includes('patient not found'), 'the message is not in the history in clear');
    assert.ok(!raw.includes('dispatch.ts'), 'nor is the stack trace');
  });
});
