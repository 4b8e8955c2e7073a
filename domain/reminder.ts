// Shapes shared by the reminder workflow, its activities and its starters. Opaque ids only: nothing in
// here may carry PHI, because workflow inputs and results are stored in Temporal's history.
import { opaqueWorkflowId } from './ids';
import type { Channel, DeliveryOutcome } from './messaging';

export type DueSpec =
  /** A wall-clock time in the patient's own time zone. */
  | { kind: 'local-time'; date: string; time: string }
  /** A delay counted from the moment the workflow starts. */
  | { kind: 'after'; milliseconds: number };

/**
 * The reminder workflow's revision, carried in its input (see JOURNEY_REVISION). Revision 1: the due time
 * is resolved and the send made in local activities. Reminders started before it have none.
 */
export const REMINDER_REVISION = 1;

export interface ReminderInput {
  /** REMINDER_REVISION when started; absent in the inputs of reminders started before revision 1. */
  revision: number;
  clinicId: string;
  patientId: string;
  journey: string;
  episode: string;
  template: string;
  due: DueSpec;
}

export interface ReminderResult {
  deliveryId: string;
  status: DeliveryOutcome;
  channel: Channel | null;
  providerMessageId: string | null;
  reason: string | null;
  dueAt: number;
}

/** One workflow per (clinic, patient, journey, episode). */
export function reminderWorkflowId({
  clinicId,
  patientId,
  journey,
  episode,
}: Pick<ReminderInput, 'clinicId' | 'patientId' | 'journey' | 'episode'>): string {
  return opaqueWorkflowId('reminder', { clinicId, patientId, journey, episode });
}

export interface SendReminderInput {
  clinicId: string;
  patientId: string;
  template: string;
  /** When it is due by the workflow's clock; a deferral moves it. */
  dueAt: number;
  idempotencyKey: string;
}

/** Sent, suppressed or failed; or not yet, because quiet hours or the caps hold it until `until`. */
export type SendReminderOutcome =
  { kind: 'done'; result: ReminderResult } | { kind: 'defer'; until: number; reason: string };

export type ReminderWorkflow = (input: ReminderInput) => Promise<ReminderResult>;
