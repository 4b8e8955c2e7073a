import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { localTimeToEpochMs } from '../../rules/time';
import { parseDuration } from '../../cli/duration';

describe('local due times', () => {
  const zone = 'America/New_York';

  it('uses EST before and EDT after the spring change', () => {
    assert.equal(localTimeToEpochMs('2027-03-13', '09:00', zone), Date.UTC(2027, 2, 13, 14, 0));
    assert.equal(localTimeToEpochMs('2027-03-15', '09:00', zone), Date.UTC(2027, 2, 15, 13, 0));
  });

  it('moves a time inside the spring-forward gap past the gap', () => {
    // 02:30 does not exist on 2027-03-14 in New York; 03:30 EDT is 07:30 UTC.
    assert.equal(localTimeToEpochMs('2027-03-14', '02:30', zone), Date.UTC(2027, 2, 14, 7, 30));
  });

  it('takes the first 01:30 on the fall-back day', () => {
    assert.equal(localTimeToEpochMs('2026-11-01', '01:30', zone), Date.UTC(2026, 10, 1, 5, 30));
  });

  it('rejects an impossible date or zone', () => {
    assert.throws(() => localTimeToEpochMs('2027-02-30', '09:00', zone), /cannot place 2027-02-30 09:00/);
    assert.throws(() => localTimeToEpochMs('2027-02-01', '09:00', 'Mars/Olympus'), /cannot place/);
  });
});

describe('durations', () => {
  it('reads short and ISO-8601 forms', () => {
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('2d'), 172_800_000);
    assert.equal(parseDuration('PT2M'), 120_000);
    assert.equal(parseDuration('250ms'), 250);
  });

  it('rejects anything else', () => {
    assert.throws(() => parseDuration('soon'), /is not a duration/);
    assert.throws(() => parseDuration('5 minutes'), /is not a duration/);
    assert.throws(() => parseDuration('P1X'), /not a valid ISO-8601/);
  });
});
