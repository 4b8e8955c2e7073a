import { defineQuery } from '@temporalio/workflow';

export interface SweepInput {
  /** A key of journeys/sweeps.json. */
  sweep: string;
  /** Patients per page (one activity). */
  batchSize?: number;
  /** Rate limit: journeys started per second, on average over each page. */
  startsPerSecond?: number;
  /** Carried across continue-as-new. */
  resume?: SweepProgress;
}

export interface SweepProgress {
  /** The sweep's moment (epoch ms); every clinic's "today" derives from it, on every retry and run. */
  asOf: number;
  clinicIds: string[];
  clinicIndex: number;
  /** The last patient id done in the current clinic. */
  after: string | null;
  scanned: number;
  enrolled: number;
  alreadyEnrolled: number;
  pages: number;
}

export const sweepProgressQuery = defineQuery<SweepProgress>('sweepProgress');

/** Per task queue: deployments sharing a namespace each keep their own sweeps. */
export const sweepScheduleId = (taskQueue: string, key: string) => `sweep:${taskQueue}:${key}`;
/** The sweep runs a schedule starts (Temporal appends the time), or a run started by hand with `run`. */
export const sweepWorkflowId = (taskQueue: string, key: string, run?: string) =>
  `sweep:${taskQueue}:${key}${run ? `:${run}` : ''}`;

/** Whether a workflow id is a sweep's (scheduled or manual). */
export const isSweepWorkflowId = (workflowId: string) => workflowId.startsWith('sweep:');

export type SweepWorkflow = (input: SweepInput) => Promise<SweepProgress>;
