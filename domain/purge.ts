// Shared by the archive purge workflow, its schedule and the CLI.
export const purgeScheduleId = (taskQueue: string) => `carebell-purge-archive-${taskQueue}`;
export const purgeWorkflowId = (taskQueue: string) => `carebell-purge-archive-${taskQueue}`;

export interface PurgeCounts {
  /** Archived messages deleted because their retention period ended. */
  contents: number;
  /** Message links deleted a while after they expired. */
  links: number;
}

export interface PurgeActivities {
  /** Deletes one clinic's archive past retention and its long-expired links, in audited batches. */
  purgeClinicArchive(clinicId: string): Promise<PurgeCounts>;
}
