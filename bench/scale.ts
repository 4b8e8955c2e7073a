// How much each benchmark does. The full scale is the (10,000 enrollments, 20,000 sleepers, 500
// events); the reduced one keeps every benchmark's shape with a tenth to a quarter of the work, so that
// all of them fit in 10 minutes on two cores. Sleepers start at 1,000, the default workflow cache, so
// that every checkpoint sees a full cache and resident memory should not move between them; the reduced
// scale has two checkpoints, since each waits about a minute for the worker's memory to settle.

export interface Scale {
  name: 'reduced' | 'full';
  /** Closed loops of due sends and of the raw one-activity workflow, median of the rounds. */
  throughput: { rounds: number; perRound: number; concurrency: number; historySample: number };
  /** The same sends with the audit chain on and off, rounds alternating. */
  audit: { rounds: number; perRound: number; concurrency: number };
  /** Events at a fixed rate, each timed from its request to its message at the peer. */
  latency: { events: number; perSecond: number };
  /** Refill enrollments through the FHIR bundle path, against raw starts of an empty workflow. */
  enrollment: { patients: number };
  /** Events through POST /v1/events and directly; one FHIR bundle. */
  apiEvents: { events: number; connections: number; fhirEntries: number };
  /** Sleeping journeys, resident memory at each checkpoint, then some woken at one minute. */
  sleepers: { checkpoints: number[]; wake: number; replaySample: number };
}

export const SCALES: Record<Scale['name'], Scale> = {
  reduced: {
    name: 'reduced',
    throughput: { rounds: 2, perRound: 150, concurrency: 50, historySample: 40 },
    audit: { rounds: 2, perRound: 100, concurrency: 50 },
    latency: { events: 100, perSecond: 4 },
    enrollment: { patients: 1000 },
    apiEvents: { events: 300, connections: 50, fhirEntries: 600 },
    sleepers: { checkpoints: [1000, 2000], wake: 200, replaySample: 30 },
  },
  full: {
    name: 'full',
    throughput: { rounds: 3, perRound: 500, concurrency: 50, historySample: 100 },
    audit: { rounds: 3, perRound: 300, concurrency: 50 },
    latency: { events: 500, perSecond: 4 },
    enrollment: { patients: 10_000 },
    apiEvents: { events: 1000, connections: 50, fhirEntries: 5000 },
    sleepers: { checkpoints: [1000, 5000, 20_000], wake: 1000, replaySample: 100 },
  },
};
