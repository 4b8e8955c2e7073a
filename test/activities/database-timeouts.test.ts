// A stalled query cannot hold an activity past its timeout while Temporal starts another attempt: every
// application statement has a time limit and a lock-wait limit, and a cancelled sweep page (its attempt
// timed out, the sweep was cancelled, the worker stops) cancels the query it was waiting on.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import type { SweepBatchInput } from '../../activities/sweep';
import { APP_TIMEOUTS, connectDatabase } from '../../db/client';
import { withClinic } from '../../db/tenant';
import { activitiesFor, createPatient } from '../support/fixtures';
import { connectTestTemporal, createTestDatabase, startTestPeers, waitFor } from '../support/harness';

const settleWithin = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([
    promise.then(
      (value) => ({ settled: 'resolved' as const, value }),
      (error: unknown) => ({ settled: 'rejected' as const, error }),
    ),
    new Promise<{ settled: 'pending' }>((resolve) => setTimeout(() => resolve({ settled: 'pending' }), ms)),
  ]);

describe('database timeouts and cancellation', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let peers: Awaited<ReturnType<typeof startTestPeers>>;
  let temporal: Awaited<ReturnType<typeof connectTestTemporal>>;
  let clinicId: string;

  before(async () => {
    [database, peers, temporal] = await Promise.all([
      createTestDatabase(),
      startTestPeers(),
      connectTestTemporal(),
    ]);
    ({ clinicId } = await createPatient(database.db, { phone: '+14155550911' }));
  });
  after(async () => {
    await temporal?.close();
    await peers?.stop();
    await database?.close();
  });

  /** Holds an exclusive lock on patients, as a stuck migration or a long operator job would. */
  async function lockPatients() {
    const holder = postgres(database.url, { max: 1, onnotice: () => {} });
    const reserved = await holder.reserve();
    await reserved`begin`;
    await reserved`lock table patients in access exclusive mode`;
    return async () => {
      await reserved`rollback`;
      reserved.release();
      await holder.end();
    };
  }

  const waitingOnLock = async () => {
    const [row] = await database.owner.db.execute<{ n: string }>(sql`
      select count(*) as n from pg_stat_activity
      where datname = current_database() and usename = 'carebell_app' and wait_event_type = 'Lock'`);
    return Number(row!.n);
  };

  it('gives application connections a statement, lock and idle-in-transaction timeout', async () => {
    const [settings] = await database.db.execute<Record<string, string>>(sql`
      select current_setting('statement_timeout') as statement, current_setting('lock_timeout') as lock,
        current_setting('idle_in_transaction_session_timeout') as idle`);
    assert.deepEqual({ ...settings }, { statement: '30s', lock: '10s', idle: '1min' });
    assert.deepEqual(APP_TIMEOUTS, { statementMs: 30_000, lockMs: 10_000, idleInTransactionMs: 60_000 });
  });

  it('gives up on a lock it cannot get within the lock timeout', async () => {
    const quick = connectDatabase(database.appUrl, {
      max: 1,
      timeouts: { statementMs: 5_000, lockMs: 300, idleInTransactionMs: 60_000 },
    });
    const release = await lockPatients();
    try {
      const outcome = await settleWithin(
        withClinic(quick.db, clinicId, (tx) => tx.execute(sql`select count(*) from patients`)),
        3_000,
      );
      assert.equal(outcome.settled, 'rejected', 'the query still waits');
      const error = (outcome as { error: Error }).error;
      assert.match((error.cause as Error | undefined)?.message ?? error.message, /lock timeout/);
    } finally {
      await release();
      await quick.close();
    }
  });

  it('cancels the query of a sweep page whose activity is cancelled', async () => {
    const activities = await activitiesFor(database.db, peers, {
      client: temporal.client,
      taskQueue: 'unused',
    });
    const sweepBatch = (input: SweepBatchInput) => activities.sweepBatch(input);
    const environment = new MockActivityEnvironment();
    const release = await lockPatients();
    let page: Promise<unknown> | undefined;
    try {
      page = environment.run(sweepBatch, {
        sweep: 'screening-check',
        clinicId,
        after: null,
        limit: 10,
        asOf: Date.now(),
      });
      await waitFor(async () => (await waitingOnLock()) > 0, 'the page query to wait on the lock', 5_000);
      environment.cancel('TIMED_OUT');
      const outcome = await settleWithin(page, 2_000);
      assert.equal(outcome.settled, 'rejected', 'the cancelled page still waits for its query');
      assert.ok((outcome as { error: unknown }).error instanceof CancelledFailure);
      await waitFor(async () => (await waitingOnLock()) === 0, 'PostgreSQL to cancel the query', 2_000);
    } finally {
      await release();
      await page?.catch(() => undefined);
    }
  });
});
