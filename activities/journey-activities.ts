// The activities the journey interpreter calls. Two implementations share this shape: the real one (the
// database, consent and the providers) and the simulation used to preview a journey.
import type { JourneyStep } from '../journeys/schema';
import type { JourneyOutcome, TimelineEntry } from '../workflows/journey-types';

export interface PlanJourneyTimeInput {
  clinicId: string;
  patientId: string;
  workflowId: string;
  /** The wait leads to a send: its time is recorded as the journey's next planned send (else none). */
  beforeSend: boolean;
  anchorDate: string;
  from: number;
  until?: { offset: string; at?: string };
  for?: string;
}

export interface SendJourneyStepInput {
  clinicId: string;
  patientId: string;
  workflowId: string;
  journeyKey: string;
  stepId: string;
  category: 'transactional' | 'marketing';
  template: string;
  variant: string | null;
  channels: Extract<JourneyStep, { type: 'send' }>['channels'];
  facts: Record<string, string>;
  /** When the workflow considers the send due (its own clock, which the time-skipping server moves). */
  dueAt: number;
  idempotencyKey: string;
}

export type SendJourneyStepOutcome =
  { kind: 'done'; entry: TimelineEntry } | { kind: 'defer'; until: number; reason: string };

export interface JourneyActivities {
  planJourneyTime(input: PlanJourneyTimeInput): Promise<number>;
  sendJourneyStep(input: SendJourneyStepInput): Promise<SendJourneyStepOutcome>;
  /** Ends a deferred send that will not happen (the journey ended first) as a suppressed delivery. */
  closeDeferredSend(input: SendJourneyStepInput & { reason: string }): Promise<TimelineEntry>;
  /** Records how the journey ended on its enrollment. */
  recordJourneyEnd(input: { clinicId: string; workflowId: string; outcome: JourneyOutcome }): Promise<void>;
  readPatientAttribute(input: {
    clinicId: string;
    patientId: string;
    attribute: 'language' | 'preferredChannel' | 'timeZone';
  }): Promise<string>;
}
