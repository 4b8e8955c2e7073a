import { DateTime } from 'luxon';

// A zone where it is daytime now, so the sending window is open while the test runs.
export const daytimeZone =
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
    return hour >= 9 && hour < 19;
  }) ?? 'UTC';
