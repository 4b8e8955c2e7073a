// Journey activities for previews: the same rules as production (channel order, consent, sending window,
// frequency caps, language), applied to a sample patient held in memory. Nothing is stored or sent.
import { resolveLanguage } from '../locales';
import type { JourneyActivities, SendJourneyStepOutcome } from '../domain/journey';
import type { Category, Channel } from '../domain/messaging';
import { planWait } from '../rules/time';
import {
  channelOrder,
  DEFAULT_CAPS,
  DEFAULT_WINDOW,
  earliestAllowedSend,
  nextInWindow,
  sendsCountedForCaps,
  type FrequencyCaps,
  type SendingWindow,
} from '../rules/sending';

export interface SamplePatient {
  timeZone: string;
  language: string;
  preferredChannel: Channel;
  /** Channels the patient can be reached on and has not opted out of. */
  channels: Channel[];
  marketingOptIn: boolean;
}

export function createSimulationActivities(
  patient: SamplePatient,
  rules: { window?: SendingWindow; caps?: FrequencyCaps } = {},
): JourneyActivities {
  const sent: { at: number; category: Category }[] = [];
  const done = new Map<string, SendJourneyStepOutcome>();
  const language = resolveLanguage(patient.language);

  return {
    planJourneyTime: (input) => Promise.resolve(planWait({ ...input, timeZone: patient.timeZone })),

    sendJourneyStep(input) {
      const previous = done.get(input.idempotencyKey);
      if (previous) return Promise.resolve(previous);
      const entry = {
        at: input.dueAt,
        step: input.stepId,
        category: input.category,
        variant: input.variant,
        language,
      };
      const order = channelOrder(patient.preferredChannel, input.channels);
      const channel = order.find((candidate) => patient.channels.includes(candidate));
      let outcome: SendJourneyStepOutcome;
      if (input.category === 'marketing' && !patient.marketingOptIn) {
        outcome = {
          kind: 'done',
          entry: { ...entry, outcome: 'suppressed', channel: null, reason: 'no-marketing-consent' },
        };
      } else if (!channel) {
        outcome = {
          kind: 'done',
          entry: { ...entry, outcome: 'suppressed', channel: null, reason: 'no-consented-channel' },
        };
      } else {
        const window = rules.window ?? DEFAULT_WINDOW;
        const earliest = earliestAllowedSend(
          input.dueAt,
          patient.timeZone,
          sendsCountedForCaps(input.category, sent),
          window,
          rules.caps ?? DEFAULT_CAPS,
        );
        if (earliest > input.dueAt) {
          const reason =
            nextInWindow(input.dueAt, patient.timeZone, window) > input.dueAt
              ? 'quiet-hours'
              : 'frequency-cap';
          return Promise.resolve({ kind: 'defer', until: earliest, reason });
        }
        sent.push({ at: input.dueAt, category: input.category });
        outcome = { kind: 'done', entry: { ...entry, outcome: 'sent', channel } };
      }
      done.set(input.idempotencyKey, outcome);
      return Promise.resolve(outcome);
    },

    closeDeferredSend: (input) =>
      Promise.resolve({
        at: input.dueAt,
        step: input.stepId,
        category: input.category,
        variant: input.variant,
        language,
        channel: null,
        outcome: 'suppressed',
        reason: input.reason,
      }),

    recordJourneyEnd: () => Promise.resolve(),

    readPatientAttribute: ({ attribute }) => Promise.resolve(String(patient[attribute])),
  };
}
