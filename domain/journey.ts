// Shapes shared by the journey interpreter, its activities and its callers. Opaque ids and codes only:
// everything here travels through Temporal's history.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { JourneyDefinition, JourneyStep, TemplateTexts } from '../journeys/schema';
import { factConditionHolds } from './facts';
import { opaqueWorkflowId } from './ids';
import type { Category, Channel, DeliveryOutcome } from './messaging';

/**
 * The interpreter's revision a journey is started under, carried in its input so that a run knows which
 * behaviour it began with without a patch marker (each marker makes the SDK upsert a search attribute: one
 * more billable action per journey). Journeys from before revision 1 have none and decide by `patched()`,
 * as they ran. Revision 1: planning a wait and sending run as local activities, a send after a wait is due
 * at the moment waited for, and the patches `skip-stale-sends`, `close-failed-send`,
 * `delivered-means-delivered` and `record-journey-end` all apply. Revision 2: a send after which the
 * journey is over ends its enrollment in the send's own transaction (`endsJourney`).
 */
export const JOURNEY_REVISION = 2;

export interface JourneyInput {
  /** JOURNEY_REVISION when started; absent in the inputs of journeys started before revision 1. */
  revision: number;
  clinicId: string;
  patientId: string;
  episode: string;
  /** Pinned at enrollment: editing the journey later never changes a run in flight. */
  definition: JourneyDefinition;
  /** The anchor date from the trigger (YYYY-MM-DD), e.g. the refill due date. */
  anchorDate: string;
  /** Non-PHI values templates may show, e.g. { deadline: '2027-01-31' }. */
  facts?: Record<string, string>;
  /**
   * The opening wait (see `openingWait`), planned as the enrollment was claimed, in the patient's zone
   * read in that transaction: the journey falls asleep without a planning round trip. Absent when the
   * journey opens otherwise, or when its enrollment had been claimed before.
   */
  firstWait?: { step: string; at: number };
  /** Carried across continue-as-new. */
  resume?: JourneyState;
}

export interface JourneyState {
  stepIndex: number;
  timeline: TimelineEntry[];
  events: string[];
  paused: boolean;
  /** What provider callbacks said of the journey's deliveries, by delivery id (see deliveryStatusSignal). */
  deliveryStatuses?: Record<string, DeliveryReceipt>;
}

/** `delivered`: the phone has it (or, for email, the relay took it); `failed`: it reached no one. */
export type DeliveryReceipt = 'delivered' | 'failed';

/** `skipped`: a send whose moment had long passed when the journey reached it (enrolled late). */
export type TimelineOutcome = DeliveryOutcome | 'event' | 'timeout' | 'exited' | 'goal' | 'ended' | 'skipped';

export interface TimelineEntry {
  /** Epoch milliseconds. */
  at: number;
  step: string;
  outcome: TimelineOutcome;
  channel?: Channel | null;
  language?: string | null;
  /** The message went in the clinic's default language or English, the patient's own having no text. */
  languageFallback?: boolean;
  category?: Category;
  variant?: string | null;
  reason?: string | null;
  /** The delivery row of a send. */
  deliveryId?: string;
}

/**
 * `failed`: a send failed for good (its row closed as failed), and the journey could not go on. `ended`:
 * one of its `endsOn` events came (the timeline says which).
 */
export type JourneyOutcome = 'completed' | 'goal-met' | 'ended' | 'cancelled' | 'opted-out' | 'failed';

export interface JourneyResult {
  outcome: JourneyOutcome;
  timeline: TimelineEntry[];
}

export const eventSignal = defineSignal<[name: string]>('journeyEvent');
export const optedOutSignal = defineSignal<[channel: Channel | 'all']>('optedOut');
/** A provider's callback about one of the journey's deliveries (the Twilio status webhook, the fallback). */
export const deliveryStatusSignal =
  defineSignal<[receipt: { deliveryId: string; status: DeliveryReceipt }]>('deliveryStatus');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const cancelSignal = defineSignal('cancel');
/** The patient's preferences (zone, channel, language) changed: planned times are worked out again. */
export const preferencesChangedSignal = defineSignal('preferencesChanged');

export const currentStepQuery = defineQuery<string | null>('currentStep');
export const nextSendQuery = defineQuery<number | null>('nextPlannedSend');
export const timelineQuery = defineQuery<TimelineEntry[]>('timeline');

/** One journey per (clinic, patient, journey, episode). */
export function journeyWorkflowId({
  clinicId,
  patientId,
  key,
  episode,
}: Pick<JourneyInput, 'clinicId' | 'patientId' | 'episode'> & { key: string }): string {
  return opaqueWorkflowId('journey', { clinicId, patientId, key, episode });
}

type WaitStep = Extract<JourneyStep, { type: 'wait' }>;

/** The index of the step `id` names (a `next`, a branch's target), or `fallback` when it names none. */
export const stepIndexOf = (
  steps: readonly JourneyStep[],
  id: string | undefined,
  fallback: number,
): number => (id === undefined ? fallback : steps.findIndex((step) => step.id === id));

/**
 * The wait a journey reaches first when only its enrollment's facts lie before it (branches on facts,
 * decided as the interpreter decides them), and whether a send follows it: that wait can be planned
 * before the journey starts.
 */
export function openingWait(
  definition: JourneyDefinition,
  facts: Record<string, string>,
): { step: WaitStep; beforeSend: boolean } | undefined {
  const { steps } = definition;
  const indexOf = (id: string | undefined, fallback: number) => stepIndexOf(steps, id, fallback);
  let index = 0;
  // Bounded: branches on facts alone that loop back would run the same way for ever.
  for (let visited = 0; visited < steps.length; visited++) {
    const step = steps[index];
    if (step?.type === 'wait')
      return { step, beforeSend: steps[indexOf(step.next, index + 1)]?.type === 'send' };
    if (step?.type !== 'branch' || step.condition.kind !== 'fact') return undefined;
    index = indexOf(factConditionHolds(step.condition, facts) ? step.then : step.else, index + 1);
  }
  return undefined;
}

/** The date a wait's `until` counts from: a date fact it names (a deadline), else the anchor. */
export const waitAnchorDate = (
  until: WaitStep['until'],
  facts: Record<string, string>,
  anchorDate: string,
): string => (until?.from && facts[until.from]) || anchorDate;

// What the interpreter asks of its activities. Two implementations share it: the real one (database,
// consent, providers) and the simulation that previews a journey.

export interface PlanJourneyTimeInput {
  clinicId: string;
  patientId: string;
  workflowId: string;
  /** The wait leads to a send: its time is recorded as the journey's next planned send (else none). */
  beforeSend: boolean;
  /** The date `until` counts from: the anchor, or the date fact the wait names in `from`. */
  anchorDate: string;
  from: number;
  until?: { offset: string; at?: string; from?: string };
  for?: string;
}

export interface SendJourneyStepInput {
  clinicId: string;
  patientId: string;
  workflowId: string;
  journeyKey: string;
  stepId: string;
  category: Category;
  template: string;
  /** The clinic's own texts for this template, by language, when its journey version has any. */
  texts?: Record<string, TemplateTexts>;
  variant: string | null;
  channels: Extract<JourneyStep, { type: 'send' }>['channels'];
  facts: Record<string, string>;
  /** When the workflow considers the send due (its own clock, which the time-skipping server moves). */
  dueAt: number;
  idempotencyKey: string;
  /**
   * Nothing follows this send but the journey's end (with an exit step's reason, if one says why): once
   * the send is over, its transaction ends the enrollment as completed, saving the journey a step.
   */
  endsJourney?: { reason: string | null };
}

export type SendJourneyStepOutcome =
  /** `ended`: the send's transaction ended the enrollment (see `endsJourney`). */
  { kind: 'done'; entry: TimelineEntry; ended?: boolean } | { kind: 'defer'; until: number; reason: string };

export interface JourneyActivities {
  planJourneyTime(input: PlanJourneyTimeInput): Promise<number>;
  sendJourneyStep(input: SendJourneyStepInput): Promise<SendJourneyStepOutcome>;
  /**
   * Ends a due send that will not happen as one delivery: suppressed (the journey ended while it was
   * deferred) or failed (its retries ran out).
   */
  closeDeferredSend(
    input: SendJourneyStepInput & { reason: string; status?: 'suppressed' | 'failed' },
  ): Promise<TimelineEntry>;
  /** Records how the journey ended on its enrollment. */
  recordJourneyEnd(input: {
    clinicId: string;
    workflowId: string;
    outcome: JourneyOutcome;
    /** Absent in histories recorded before the reason was kept. */
    reason?: string | null;
  }): Promise<void>;
  /** A delivery's status as recorded now: `sent` while no receipt has come. */
  readDeliveryStatus(input: { clinicId: string; deliveryId: string }): Promise<string>;
  readPatientAttribute(input: {
    clinicId: string;
    patientId: string;
    attribute: 'language' | 'preferredChannel' | 'timeZone';
  }): Promise<string>;
}

/** The interpreter's signature, for starters that must not import workflow code. */
export type JourneyWorkflow = (input: JourneyInput) => Promise<JourneyResult>;
