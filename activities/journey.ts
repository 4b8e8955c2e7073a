// The journey interpreter's activities against the real world: times planned in the patient's zone, each
// send step through the one send path, and the enrollment kept up to date (its next planned send, its end).
import { endEnrollment, planEnrollmentSend } from '../db/queries/enrollments';
import { getPatientSettings } from '../db/queries/patients';
import { getDelivery } from '../db/queries/deliveries';
import type { Delivery } from '../db/schema';
import { CarebellError } from '../domain/errors';
import type {
  JourneyActivities,
  SendJourneyStepInput,
  SendJourneyStepOutcome,
  TimelineEntry,
} from '../domain/journey';
import type { Transaction } from '../db/tenant';
import { planWait } from '../rules/time';
import type { ActivityDeps } from './deps';
import { createSendPath, type SendRequest, type Settle } from './dispatch';

const entryOf = (delivery: Delivery, input: SendJourneyStepInput): TimelineEntry => ({
  at: delivery.dueAt.getTime(),
  step: input.stepId,
  category: input.category,
  variant: input.variant,
  outcome: delivery.status === 'pending' ? 'failed' : delivery.status,
  channel: delivery.channel,
  language: delivery.language,
  ...(delivery.languageFallback ? { languageFallback: true } : {}),
  reason: delivery.reason,
  deliveryId: delivery.id,
});

const asRequest = (input: SendJourneyStepInput): SendRequest => ({
  clinicId: input.clinicId,
  patientId: input.patientId,
  template: input.template,
  texts: input.texts,
  category: input.category,
  channels: input.channels,
  facts: input.facts,
  dueAt: input.dueAt,
  idempotencyKey: input.idempotencyKey,
  journey: { key: input.journeyKey, workflowId: input.workflowId, variant: input.variant },
});

export function createJourneyActivities(deps: ActivityDeps): JourneyActivities {
  const sendPath = createSendPath(deps);
  const { inClinic } = sendPath;
  // Whatever became of a send, the journey's planned send is now its deferral, or nothing.
  const planned =
    (input: SendJourneyStepInput): Settle =>
    (tx, deferredUntil) =>
      planEnrollmentSend(tx, input.clinicId, input.workflowId, deferredUntil);

  async function settings(tx: Transaction, input: { clinicId: string; patientId: string }) {
    const found = await getPatientSettings(tx, input.clinicId, input.patientId);
    if (!found) throw new CarebellError('PatientNotFound');
    return found;
  }

  return {
    async planJourneyTime(input) {
      return inClinic(input.clinicId, async (tx) => {
        // The zone as it is now, and the plan written, in one transaction.
        const at = planWait({ ...input, timeZone: (await settings(tx, input)).timeZone });
        await planEnrollmentSend(
          tx,
          input.clinicId,
          input.workflowId,
          input.beforeSend ? new Date(at) : null,
        );
        return at;
      });
    },

    async recordJourneyEnd(input) {
      await inClinic(input.clinicId, (tx) =>
        endEnrollment(tx, input.clinicId, input.workflowId, input.outcome, input.reason),
      );
    },

    // The name predates failed sends; it stays, because recorded histories schedule it by name.
    async closeDeferredSend(input) {
      const closed = await sendPath.close(
        asRequest(input),
        { status: input.status ?? 'suppressed', reason: input.reason },
        planned(input),
      );
      return entryOf(closed, input);
    },

    async readDeliveryStatus(input) {
      const delivery = await inClinic(input.clinicId, (tx) =>
        getDelivery(tx, input.clinicId, input.deliveryId),
      );
      return delivery?.status ?? 'failed';
    },

    async readPatientAttribute(input) {
      return String((await inClinic(input.clinicId, (tx) => settings(tx, input)))[input.attribute]);
    },

    async sendJourneyStep(input): Promise<SendJourneyStepOutcome> {
      const { endsJourney } = input;
      const plan = planned(input);
      let ended = false;
      // The journey's last step: once the send is over, its enrollment ends with it, in one transaction.
      const settle: Settle = async (tx, deferredUntil) => {
        if (!endsJourney || deferredUntil) return plan(tx, deferredUntil);
        ended = await endEnrollment(tx, input.clinicId, input.workflowId, 'completed', endsJourney.reason);
      };
      const result = await sendPath.send(asRequest(input), settle);
      if (result.kind === 'defer') return result;
      return { kind: 'done', entry: entryOf(result.delivery, input), ...(ended ? { ended } : {}) };
    },
  };
}
