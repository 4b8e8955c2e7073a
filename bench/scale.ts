// How much each benchmark does. The full scale is the (10,000 enrollments, 20,000 sleepers, 500
// events); the reduced one keeps every benchmark's shape at about a quarter of the work, so that all of
// them fit in 10 minutes on two shared cores.

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
    throughput: { rounds: 2, perRound: 200, concurrency: 50, historySample: 40 },
    audit: { rounds: 2, perRound: 150, concurrency: 50 },
    latency: { events: 200, perSecond: 10 },
    enrollment: { patients: 2000 },
    apiEvents: { events: 500, connections: 50, fhirEntries: 1000 },
    sleepers: { checkpoints: [1000, 2500, 5000], wake: 500, replaySample: 40 },
  },
  full: {
    name: 'full',
    throughput: { rounds: 3, perRound: 500, concurrency: 50, historySample: 100 },
    audit: { rounds: 3, perRound: 300, concurrency: 50 },
    latency: { events: 500, perSecond: 10 },
    enrollment: { patients: 10_000 },
    apiEvents: { events: 2000, connections: 50, fhirEntries: 5000 },
    sleepers: { checkpoints: [1000, 5000, 20_000], wake: 1000, replaySample: 100 },
  },
};
