import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DateTime } from 'luxon';
import { capsAllow, earliestAllowedSend, nextInWindow } from '../../rules/sending';

const at = (iso: string, zone: string) => DateTime.fromISO(iso, { zone }).toMillis();
const local = (ms: number, zone: string) =>
  DateTime.fromMillis(ms, { zone }).toFormat("yyyy-MM-dd'T'HH:mm ZZ");

describe('quiet hours in the patient time zone', () => {
  it('leaves a send inside the window alone and defers one outside to the next opening', () => {
    const zone = 'America/New_York';
    assert.equal(nextInWindow(at('2027-01-10T12:00', zone), zone), at('2027-01-10T12:00', zone));
    assert.equal(local(nextInWindow(at('2027-01-10T06:00', zone), zone), zone), '2027-01-10T08:00 -05:00');
    assert.equal(local(nextInWindow(at('2027-01-10T21:00', zone), zone), zone), '2027-01-11T08:00 -05:00');
  });

  it('opens at 08:00 local on both sides of the New York changes', () => {
    const zone = 'America/New_York';
    // Night before spring forward (02:00 -> 03:00 on 2027-03-14): the next morning is EDT.
    assert.equal(local(nextInWindow(at('2027-03-13T23:30', zone), zone), zone), '2027-03-14T08:00 -04:00');
    // Night before fall back (02:00 -> 01:00 on 2026-11-01): the next morning is EST.
    assert.equal(local(nextInWindow(at('2026-10-31T22:15', zone), zone), zone), '2026-11-01T08:00 -05:00');
  });

  it('handles zones without DST and with odd offsets', () => {
    assert.equal(
      local(nextInWindow(at('2027-03-14T05:00', 'America/Phoenix'), 'America/Phoenix'), 'America/Phoenix'),
      '2027-03-14T08:00 -07:00',
    );
    assert.equal(
      local(nextInWindow(at('2027-03-14T22:00', 'Asia/Kolkata'), 'Asia/Kolkata'), 'Asia/Kolkata'),
      '2027-03-15T08:00 +05:30',
    );
    // Chatham: +13:45 in summer, +12:45 after the first Sunday of April (2027-04-04, 03:45 -> 02:45).
    assert.equal(
      local(nextInWindow(at('2027-04-03T23:00', 'Pacific/Chatham'), 'Pacific/Chatham'), 'Pacific/Chatham'),
      '2027-04-04T08:00 +12:45',
    );
    assert.equal(
      local(nextInWindow(at('2026-09-26T21:30', 'Pacific/Chatham'), 'Pacific/Chatham'), 'Pacific/Chatham'),
      '2026-09-27T08:00 +13:45',
    );
  });

  it('honours a stricter clinic window', () => {
    const zone = 'Europe/Madrid';
    const window = { opens: '09:30', closes: '18:00' };
    assert.equal(
      local(nextInWindow(at('2027-05-03T18:00', zone), zone, window), zone),
      '2027-05-04T09:30 +02:00',
    );
  });
});

describe('frequency caps across journeys', () => {
  const zone = 'America/New_York';

  it('allows one a day: a second send the same local day waits for the next', () => {
    const first = at('2027-01-10T09:00', zone);
    const decision = capsAllow(at('2027-01-10T15:00', zone), zone, [first]);
    assert.equal(decision.ok, false);
    assert.equal(
      local(earliestAllowedSend(at('2027-01-10T15:00', zone), zone, [first]), zone),
      '2027-01-11T08:00 -05:00',
    );
  });

  it('allows three a week, rolling', () => {
    const sends = ['2027-01-04T09:00', '2027-01-05T09:00', '2027-01-06T09:00'].map((iso) => at(iso, zone));
    const next = earliestAllowedSend(at('2027-01-07T09:00', zone), zone, sends);
    // The week of the first send ends on the 11th at 09:00; the window is open then.
    assert.equal(local(next, zone), '2027-01-11T09:00 -05:00');
  });

  it('counts a send of another journey due a moment later the same day', () => {
    const other = at('2027-01-10T10:00:00.019', zone);
    assert.equal(capsAllow(at('2027-01-10T10:00:00.005', zone), zone, [other]).ok, false);
  });

  it('counts a local day in the patient zone, not in UTC', () => {
    // 23:30 in New York is already the next day in UTC; it is still the same local day.
    const evening = at('2027-01-10T20:30', zone);
    assert.equal(capsAllow(at('2027-01-10T20:45', zone), zone, [evening]).ok, false);
  });
});
