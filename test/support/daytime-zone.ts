import { DateTime } from 'luxon';

/**
 * A zone where it is daytime now and stays so for at least `hours` more, so the sending window (08:00-21:00
 * at its narrowest here) is open while a test or a benchmark runs.
 */
export function zoneInDaytime(hours: number): string {
  return (
    [
      'Pacific/Kiritimati',
      'Asia/Tokyo',
      'Asia/Kolkata',
      'Europe/London',
      'America/New_York',
      'America/Los_Angeles',
      'Pacific/Honolulu',
    ].find((zone) => {
      const hour = DateTime.now().setZone(zone).hour;
      return hour >= 9 && hour + hours < 21;
    }) ?? 'UTC'
  );
}

export const daytimeZone = zoneInDaytime(2);
