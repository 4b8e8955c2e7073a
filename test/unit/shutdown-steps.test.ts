import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShutdownSteps } from '../../lib/shutdown-steps';

describe('shutdown steps', () => {
  it('stops in reverse order; a failing or stuck step is reported and the later ones still run', async () => {
    const stops = new ShutdownSteps();
    const stopped: string[] = [];
    const step = (name: string) => () => {
      stopped.push(name);
      return Promise.resolve();
    };
    stops.add('database', step('database'));
    stops.add('server', () => new Promise(() => {}), 50);
    stops.add('api', () => Promise.reject(new Error('socket hang up')));
    stops.add('worker', step('worker'));
    const lines: string[] = [];
    assert.deepEqual(await stops.run((line) => lines.push(line)), ['api', 'server']);
    assert.deepEqual(stopped, ['worker', 'database']);
    assert.deepEqual(
      lines.map((line) => line.replace(/ \(\d+\.\ds\)$/, '')),
      [
        'worker: done',
        'api: failed: socket hang up',
        'server: still stopping after 0.05s; going on',
        'database: done',
      ],
    );
    assert.deepEqual(await stops.run(), [], 'each step runs once');
  });
});
