// Replays committed histories of every built-in journey against the current interpreter: a change that
// would break journeys in flight (non-determinism) fails here, in CI, before it reaches a worker.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { builtInJourneys } from '../journeys/built-in';
import { workflowsPath } from '../runtime/worker';
import './support/harness';

const dir = path.join(import.meta.dirname, 'fixtures', 'histories');

describe('replay of recorded journey histories', () => {
  for (const { key } of builtInJourneys()) {
    it(`replays ${key}`, async () => {
      const file = path.join(dir, `${key}.json`);
      assert.ok(fs.existsSync(file), `record it with: npx tsx test/support/record-histories.ts`);
      // Stored as protobuf JSON (what History.toJSON writes); fromObject reads it back.
      const history = proto.temporal.api.history.v1.History.fromObject(
        JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>,
      );
      await Worker.runReplayHistory({ workflowsPath }, history, `replay-${key}`);
    });
  }
});
