// Whoever reaches the Temporal frontend can write a history: a journey started with plaintext input, or
// with an encrypted input copied from another workflow's history. The worker refuses both, so neither can
// make it text a patient.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client, type WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { Worker } from '@temporalio/worker';
import { JOURNEY_REVISION, journeyWorkflowId, type JourneyInput } from '../../domain/journey';
import { startJourney } from '../../usecases/start-workflows';
import { createPatient, createTestWorker } from '../support/fixtures';
import { connectTestTemporal, createTestDatabase, startTestPeers, uniqueTaskQueue } from '../support/harness';
import { sendNow } from '../support/journeys';

const { EventType } = proto.temporal.api.enums.v1;

describe('payloads the worker accepts', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let peers: Awaited<ReturnType<typeof startTestPeers>>;
  let temporal: Awaited<ReturnType<typeof connectTestTemporal>>;
  let worker: Worker;
  let running: Promise<void>;
  let taskQueue: string;
  let input: JourneyInput;
  const started: WorkflowHandle[] = [];

  before(async () => {
    [database, peers, temporal] = await Promise.all([
      createTestDatabase(),
      startTestPeers(),
      connectTestTemporal(),
    ]);
    taskQueue = uniqueTaskQueue('binding');
    worker = await createTestWorker(
      temporal.nativeConnection,
      taskQueue,
      database.db,
      peers,
      temporal.client,
    );
    running = worker.run();
    const patient = await createPatient(database.db, { phone: '+14155550931' });
    // Sends at once if the worker acts on it: a message at the peer would be a real patient texted.
    input = {
      ...patient,
      revision: JOURNEY_REVISION,
      episode: randomUUID(),
      definition: sendNow('binding'),
      anchorDate: '2027-01-01',
    };
  });
  after(async () => {
    for (const handle of started) await handle.terminate('test over').catch(() => undefined);
    worker?.shutdown();
    await running;
    await temporal?.close();
    await peers?.stop();
    await database?.close();
  });

  /** What the worker did with the workflow's first task: refused it, or acted on the input. */
  async function firstMove(handle: WorkflowHandle): Promise<'refused' | 'acted'> {
    started.push(handle);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const { events } = await handle.fetchHistory();
      const types = (events ?? []).map((event) => event.eventType);
      if (types.includes(EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)) return 'refused';
      // An activity scheduled, or a local one run (its marker): the worker decoded the input and went on.
      if (
        types.includes(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) ||
        types.includes(EventType.EVENT_TYPE_MARKER_RECORDED)
      )
        return 'acted';
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`the worker neither refused nor acted on ${handle.workflowId}`);
  }

  it('refuses a journey started with plaintext input', async () => {
    // A client without carebell's codec, as anyone with the frontend's address could use.
    const plain = new Client({ connection: temporal.connection });
    const handle = await plain.workflow.start('journeyWorkflow', {
      workflowId: journeyWorkflowId({ ...input, key: input.definition.key }),
      taskQueue,
      args: [input],
    });
    assert.equal(await firstMove(handle), 'refused');
    assert.deepEqual(peers.sms.messages(), [], 'nobody was texted');
  });

  it('refuses an encrypted input copied into another workflow, and runs it in its own', async () => {
    const own = { ...input, episode: randomUUID() };
    const original = await startJourney(temporal.client, taskQueue, own);
    assert.equal(await firstMove(original), 'acted');
    const { events } = await original.fetchHistory();
    const copied = events![0]!.workflowExecutionStartedEventAttributes!.input!;
    assert.ok(
      copied.payloads!.every(
        (payload) => Buffer.from(payload.metadata!.encoding!).toString() === 'binary/encrypted',
      ),
    );

    const other = journeyWorkflowId({ ...own, episode: randomUUID(), key: own.definition.key });
    await temporal.connection.workflowService.startWorkflowExecution({
      namespace: 'default',
      workflowId: other,
      workflowType: { name: 'journeyWorkflow' },
      taskQueue: { name: taskQueue },
      input: copied,
      identity: 'copier',
      requestId: randomUUID(),
    });
    assert.equal(await firstMove(temporal.client.workflow.getHandle(other)), 'refused');
  });
});
