import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RefusalBrake } from '../../security/refusal-brake';

describe('refusal brake', () => {
  it('lets `limit` refusals a window be audited, throttles the rest, and starts afresh each window', () => {
    let now = 1_000_000;
    const brake = new RefusalBrake(2, 60_000, () => now);
    const verdicts = () => brake.admit().kind;
    assert.deepEqual(
      [verdicts(), verdicts(), verdicts(), verdicts()],
      ['audit', 'audit', 'throttle', 'throttle'],
    );
    now += 15_000;
    assert.deepEqual(brake.admit(), { kind: 'throttle', retryAfter: 45 });
    assert.equal(brake.untilWindowEnds(), 45_000);
    assert.equal(brake.takeThrottled(), 3);
    assert.equal(brake.takeThrottled(), 0);
    now += 45_000;
    assert.equal(verdicts(), 'audit', 'a new window');
  });
});
