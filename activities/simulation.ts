// Journey activities for previews: the one send decision of production (rules/sending.ts decideSend) and
// the same time planning, applied to a sample patient held in memory. Nothing is stored or sent.
import type { JourneyActivities, SendJourneyStepOutcome } from '../domain/journey';
import type { Category, Channel, PatientStatus } from '../domain/messaging';
import { resolveLanguage } from '../locales';
import {
  DEFAULT_CAPS,
  DEFAULT_WINDOW,
  channelOrder,
  decideSend,
  effectiveCaps,
  effectiveWindow,
  usState,
  type EarlierSend,
  type FrequencyCaps,
  type SendingWindow,
} from '../rules/sending';
import { planWait } from '../rules/time';

export interface SamplePatient {
  timeZone: string;
  language: string;
  preferredChannel: Channel;
  /** Channels the patient can be reached on and has not opted out of. */
  channels: Channel[];
  /** Channels the patient can be reached on but opted out of. */
  optedOut?: Channel[];
  marketingOptIn: boolean;
  status?: PatientStatus;
  /** For the stricter marketing hours of some states. */
  postalAddress?: string;
}

export function createSimulationActivities(
  patient: SamplePatient,
  clinic: { window?: SendingWindow; caps?: FrequencyCaps } = {},
): JourneyActivities {
  const earlier: EarlierSend[] = [];
  const done = new Map<string, SendJourneyStepOutcome>();
  const language = resolveLanguage(patient.language);
  const optedOut = new Set(patient.optedOut ?? []);
  const contacts = [...patient.channels, ...optedOut].map((channel) => ({
    channel,
    address: `sample-${channel}`,
    addressIndex: `sample-${channel}`,
  }));
  const consentAllows = (channel: Channel, category: Category) =>
    !optedOut.has(channel) && (category === 'transactional' || patient.marketingOptIn);

  return {
    planJourneyTime: (input) => Promise.resolve(planWait({ ...input, timeZone: patient.timeZone })),

    sendJourneyStep(input) {
      const previous = done.get(input.idempotencyKey);
      if (previous) return Promise.resolve(previous);
      const decision = decideSend({
        now: input.dueAt,
        category: input.category,
        patient: { status: patient.status ?? 'active', timeZone: patient.timeZone },
        order: channelOrder(patient.preferredChannel, input.channels),
        contacts,
        suppressed: new Set(),
        consentAllows,
        window: effectiveWindow(
          clinic.window ?? DEFAULT_WINDOW,
          input.category,
          usState(patient.postalAddress),
        ),
        caps: effectiveCaps(clinic.caps ?? DEFAULT_CAPS, input.category),
        earlier,
        plannedTransactional: [],
      });
      if (decision.kind === 'defer') return Promise.resolve(decision);
      const entry = {
        at: input.dueAt,
        step: input.stepId,
        category: input.category,
        variant: input.variant,
        language,
      };
      let outcome: SendJourneyStepOutcome;
      if (decision.kind === 'suppress') {
        outcome = {
          kind: 'done',
          entry: { ...entry, outcome: 'suppressed', channel: null, reason: decision.reason },
        };
      } else {
        const route = decision.routes[0]!;
        earlier.push({
          at: input.dueAt,
          category: input.category,
          addressIndex: route.addressIndex,
          mine: true,
        });
        outcome = { kind: 'done', entry: { ...entry, outcome: 'sent', channel: route.channel } };
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
        outcome: input.status ?? 'suppressed',
        reason: input.reason,
      }),

    recordJourneyEnd: () => Promise.resolve(),

    // A preview assumes every message arrives.
    readDeliveryStatus: () => Promise.resolve('delivered'),
    readPatientAttribute: ({ attribute }) => Promise.resolve(String(patient[attribute])),
  };
}
