// The quick fault scenarios (SMTP relays and Twilio misbehaving while the worker stays up) on the services
// `npm test` started, each in a world of its own: database, peers, worker process. `npm run faults` runs
// every scenario, including those that kill workers, the Temporal server and PostgreSQL.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scenarios } from '../../faults/index';
import { formatOutcome, runScenario } from '../../faults/runner';
import { testHarnessStack } from '../../faults/stack';

// Independent worlds, so they run side by side: the file costs about as long as its slowest scenario.
describe('fault scenarios (the quick ones)', { concurrency: true }, () => {
  for (const scenario of scenarios.filter((candidate) => candidate.fast)) {
    it(`${scenario.name}: ${scenario.breaks}`, async () => {
      const outcome = await runScenario(testHarnessStack(), scenario);
      process.stdout.write(`# ${formatOutcome(outcome).split('\n').join('\n# ')}\n`);
      assert.ok(outcome.ok, formatOutcome(outcome));
    });
  }
});
