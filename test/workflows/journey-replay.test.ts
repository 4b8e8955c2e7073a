// Replays committed histories of every built-in journey against the current interpreter: a change that
// would break journeys in flight (non-determinism) fails here, in CI, before it reaches a worker.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { builtInJourneys } from '../../journeys/built-in';
import { testWorkflowCode } from '../support/harness';

const dir = path.join(import.meta.dirname, '..', 'support', 'histories');

describe('replay of recorded journey histories', () => {
  it('has a current history of every built-in journey', () => {
    for (const { key } of builtInJourneys()) {
      assert.ok(
        fs.existsSync(path.join(dir, `${key}.json`)),
        `record ${key} with: npx tsx test/support/record-histories.ts`,
      );
    }
  });

  // Current histories at the top, and those of earlier interpreter versions (still running somewhere) in
  // folders named after the change that followed them.
  const files = fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.json'))
    .sort();
  for (const file of files) {
    it(`replays ${file}`, async () => {
      // Stored as protobuf JSON (what History.toJSON writes); fromObject reads it back.
      const history = proto.temporal.api.history.v1.History.fromObject(
        JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Record<string, unknown>,
      );
      await Worker.runReplayHistory(await testWorkflowCode(), history, `replay-${file}`);
    });
  }
});
