// Shared by the reconciler workflow and the schedule that starts it.
export const reconcileScheduleId = (taskQueue: string) => `carebell-reconcile-enrollments-${taskQueue}`;
export const reconcileWorkflowId = (taskQueue: string) => `carebell-reconcile-enrollments-${taskQueue}`;

export interface ReconcileActivities {
  /** Closes the clinic's enrollments whose journeys were stopped from outside; returns how many. */
  reconcileClinicEnrollments(clinicId: string): Promise<number>;
}
