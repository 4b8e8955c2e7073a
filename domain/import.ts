// Shared by the import workflow and those who start it.
export interface ImportInput {
  clinicId: string;
  jobId: string;
}

export const importWorkflowId = (jobId: string) => `import-${jobId}`;

export interface ImportActivities {
  /** Works through the job from where it stopped; heartbeats after every batch. */
  processImport(input: ImportInput): Promise<void>;
}
