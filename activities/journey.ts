// The journey activities against the real world: patient and clinic from the database, consent re-read at
// send time, the clinic's sending window and frequency caps across all of the patient's journeys, then the
// shared send path. Every due step ends as one delivery row: sent, delivered, failed or suppressed.
import { CarebellError } from '../domain/errors';
import { consentAllows, latestConsents } from '../db/queries/consents';
import { claimDelivery, recentSends } from '../db/queries/deliveries';
import { endEnrollment, planEnrollmentSend, plannedTransactionalSends } from '../db/queries/enrollments';
import { getPatientSettings } from '../db/queries/patients';
import type { Delivery } from '../db/schema';
import type { TimelineEntry } from '../domain/journey';
import { createDispatch } from './dispatch';
import type { JourneyActivities, SendJourneyStepInput, SendJourneyStepOutcome } from '../domain/journey';
import { planWait } from '../rules/time';
import { channelOrder, earliestAllowedSend, nextInWindow, sendsCountedForCaps } from '../rules/sending';
import type { ActivityDeps } from './deps';

const DAY_MS = 24 * 3600 * 1000;
const WEEK_MS = 7 * DAY_MS;

export function createJourneyActivities(deps: ActivityDeps): JourneyActivities {
  const { inClinic, prepare, complete, suppressIfInactive, routes, dispatch } = createDispatch(deps);

  async function settings(input: { clinicId: string; patientId: string }) {
    const found = await inClinic(input, (tx) => getPatientSettings(tx, input.clinicId, input.patientId));
    if (!found) throw new CarebellError('PatientNotFound');
    return found;
  }

  const entryOf = (delivery: Delivery, base: Omit<TimelineEntry, 'outcome' | 'at'>): TimelineEntry => ({
    ...base,
    at: delivery.dueAt.getTime(),
    outcome: delivery.status === 'pending' ? 'failed' : delivery.status,
    channel: delivery.channel,
    language: delivery.language,
    reason: delivery.reason,
  });
  const done = (entry: TimelineEntry): SendJourneyStepOutcome => ({ kind: 'done', entry });

  return {
    async planJourneyTime(input) {
      const at = planWait({ ...input, timeZone: (await settings(input)).timeZone });
      await inClinic(input, (tx) =>
        planEnrollmentSend(tx, input.clinicId, input.workflowId, input.beforeSend ? new Date(at) : null),
      );
      return at;
    },

    async recordJourneyEnd(input) {
      await inClinic(input, (tx) => endEnrollment(tx, input.clinicId, input.workflowId, input.outcome));
    },

    async closeDeferredSend(input) {
      const delivery = await inClinic(input, (tx) =>
        claimDelivery(tx, { ...input, dueAt: new Date(input.dueAt) }),
      );
      const closed = await complete(input, delivery.id, { status: 'suppressed', reason: input.reason });
      return entryOf(closed, { step: input.stepId, category: input.category, variant: input.variant });
    },

    async readPatientAttribute(input) {
      return String((await settings(input))[input.attribute]);
    },

    async sendJourneyStep(input) {
      const outcome = await sendOrDefer(input);
      // Whatever happened, the journey's planned send is now the deferral, or nothing.
      await inClinic(input, (tx) =>
        planEnrollmentSend(
          tx,
          input.clinicId,
          input.workflowId,
          outcome.kind === 'defer' ? new Date(outcome.until) : null,
        ),
      );
      return outcome;
    },
  };

  async function sendOrDefer(input: SendJourneyStepInput): Promise<SendJourneyStepOutcome> {
    const base = { step: input.stepId, category: input.category, variant: input.variant };
    const prepared = await prepare(input, async (tx, patient) => ({
      consents: await latestConsents(tx, input.clinicId, input.patientId),
      recent: await recentSends(tx, input.clinicId, input.patientId, new Date(input.dueAt - WEEK_MS)),
      planned:
        input.category === 'marketing'
          ? await plannedTransactionalSends(
              tx,
              input.clinicId,
              input.patientId,
              new Date(input.dueAt - DAY_MS),
              new Date(input.dueAt + 2 * DAY_MS),
            )
          : [],
      patient,
    }));
    const { clinic, patient, delivery, extra } = prepared;
    if (delivery.status !== 'pending') return done(entryOf(delivery, base));
    const inactive = await suppressIfInactive(input, prepared);
    if (inactive) return done(entryOf(inactive, base));

    const order = channelOrder(patient.preferredChannel, input.channels);
    const reachable = routes(patient, order);
    const consented = reachable.filter((route) =>
      consentAllows(extra.consents, route.channel, input.category),
    );
    if (consented.length === 0) {
      const reason =
        reachable.length === 0
          ? 'no-contact-point'
          : input.category === 'marketing'
            ? 'no-marketing-consent'
            : 'opted-out';
      return done(entryOf(await complete(input, delivery.id, { status: 'suppressed', reason }), base));
    }

    const window = { opens: clinic.quietHoursEnd, closes: clinic.quietHoursStart };
    const caps = { perDay: clinic.maxPerDay, perWeek: clinic.maxPerWeek };
    const counted = sendsCountedForCaps(input.category, extra.recent, extra.planned);
    const earliest = earliestAllowedSend(input.dueAt, patient.timeZone, counted, window, caps);
    if (earliest > input.dueAt) {
      const reason =
        nextInWindow(input.dueAt, patient.timeZone, window) > input.dueAt ? 'quiet-hours' : 'frequency-cap';
      return { kind: 'defer', until: earliest, reason };
    }
    const sent = await dispatch(input, { clinic, patient, delivery }, consented, input.facts);
    return done(entryOf(sent, base));
  }
}
