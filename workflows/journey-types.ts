// Shapes shared by the journey interpreter, its activities and its callers. Opaque ids and codes only.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { JourneyDefinition } from '../journeys/schema';
import { opaqueWorkflowId } from './ids';

export interface JourneyInput {
  clinicId: string;
  patientId: string;
  episode: string;
  /** Pinned at enrollment: editing the journey later never changes a run in flight. */
  definition: JourneyDefinition;
  /** The anchor date from the trigger (YYYY-MM-DD), e.g. the refill due date. */
  anchorDate: string;
  /** Non-PHI values templates may show, e.g. { deadline: '2027-01-31' }. */
  facts?: Record<string, string>;
  /** Carried across continue-as-new. */
  resume?: JourneyState;
}

export interface JourneyState {
  stepIndex: number;
  timeline: TimelineEntry[];
  events: string[];
  paused: boolean;
}

export type TimelineOutcome =
  'sent' | 'delivered' | 'failed' | 'suppressed' | 'event' | 'timeout' | 'exited' | 'goal';

export interface TimelineEntry {
  /** Epoch milliseconds. */
  at: number;
  step: string;
  outcome: TimelineOutcome;
  channel?: 'sms' | 'email' | null;
  language?: string | null;
  category?: 'transactional' | 'marketing';
  variant?: string | null;
  reason?: string | null;
}

export type JourneyOutcome = 'completed' | 'goal-met' | 'cancelled' | 'opted-out';

export interface JourneyResult {
  outcome: JourneyOutcome;
  timeline: TimelineEntry[];
}

export const eventSignal = defineSignal<[name: string]>('journeyEvent');
export const optedOutSignal = defineSignal<[channel: 'sms' | 'email' | 'all']>('optedOut');
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

/**
 * Deterministic A/B choice: the same patient always gets the same variant of a step (FNV-1a over the
 * patient id and step id, weighted).
 */
export function chooseVariant<V extends { key: string; weight: number }>(
  patientId: string,
  stepId: string,
  variants: V[],
): V {
  let hash = 0x811c9dc5;
  for (const char of `${patientId}/${stepId}`) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  const total = variants.reduce((sum, variant) => sum + variant.weight, 0);
  let point = hash % total;
  for (const variant of variants) {
    if (point < variant.weight) return variant;
    point -= variant.weight;
  }
  return variants[variants.length - 1]!;
}
