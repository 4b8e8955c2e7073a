// Journey activities for previews: the one send decision of production (rules/sending.ts decideSend), the
// same time planning and the same rendering, applied to a sample patient held in memory. Nothing is stored
// or sent; what each message would say is kept beside the timeline.
import type { JourneyActivities, SendJourneyStepOutcome } from '../domain/journey';
import type { Category, Channel, PatientStatus } from '../domain/messaging';
import { languageChain, render, type RenderedMessage } from '../locales';
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

/** The clinic a preview sends as: its name, phone and default language, and the base of its links. */
export interface SampleClinic {
  window?: SendingWindow;
  caps?: FrequencyCaps;
  name?: string;
  phone?: string;
  defaultLanguage?: string;
  publicUrl?: string;
}

/** Where a preview's message is found: its step and due time, as on the timeline. */
export const messageKey = (step: string, at: number) => `${step}@${at}`;

export function createSimulationActivities(
  patient: SamplePatient,
  clinic: SampleClinic = {},
  /** Filled with what each message sent would say, by messageKey. */
  messages = new Map<string, RenderedMessage>(),
): JourneyActivities {
  const earlier: EarlierSend[] = [];
  const done = new Map<string, SendJourneyStepOutcome>();
  // What a step that sends nothing records; a message says the language it was actually written in.
  const language = languageChain(patient.language, clinic.defaultLanguage).chain[0]!;
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
        const message = render({
          template: input.template,
          language: patient.language,
          clinicLanguage: clinic.defaultLanguage,
          texts: input.texts,
          facts: input.facts,
          timeZone: patient.timeZone,
          now: input.dueAt,
          clinic: clinic.name ?? 'Sample Clinic',
          phone: clinic.phone ?? '(555) 010-0100',
          link: `${clinic.publicUrl ?? 'https://carebell.example'}/m/AbCdEfGhIjKl`,
        });
        messages.set(messageKey(input.stepId, input.dueAt), message);
        earlier.push({
          at: input.dueAt,
          category: input.category,
          addressIndex: route.addressIndex,
          mine: true,
        });
        outcome = {
          kind: 'done',
          entry: {
            ...entry,
            language: message.language,
            ...(message.fallback ? { languageFallback: true } : {}),
            outcome: 'sent',
            channel: route.channel,
          },
        };
      }
      // As the real send does, the journey's last send ends its enrollment.
      if (input.endsJourney) outcome.ended = true;
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
