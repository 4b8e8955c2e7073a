// The journey interpreter: one workflow runs any journey definition, step by step. Time-zone arithmetic
// and every rule about sending happen in activities (the opening wait's at enrollment); this file only
// decides what comes next.
import {
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  cancelSignal,
  currentStepQuery,
  deliveryStatusSignal,
  eventSignal,
  nextSendQuery,
  optedOutSignal,
  pauseSignal,
  preferencesChangedSignal,
  resumeSignal,
  timelineQuery,
  type JourneyInput,
  type JourneyOutcome,
  type JourneyResult,
  type JourneyState,
  type PlanJourneyTimeInput,
  stepIndexOf,
  waitAnchorDate,
} from '../domain/journey';
import type { Activities } from '../activities';
import type { JourneyStep } from '../journeys/schema';
import { isFailureOf } from '../domain/errors';
import { factConditionHolds } from '../domain/facts';
import { isActivityFailure, unsentReason } from './activity-failure';
import { chooseVariant } from './variant';

const retry = { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' };
const remote = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '24 hours',
  retry,
});
const { closeDeferredSend, readPatientAttribute, readDeliveryStatus } = remote;
// The steps every journey takes run as local activities: each saves the server an activity task and a
// workflow task. Safe to repeat after a lost workflow task: planning rewrites one column, and a send's
// delivery row, claimed under a unique key, makes a second attempt find the first.
const local = proxyLocalActivities<Activities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '24 hours',
  retry,
});

// Well below Temporal's history limits; the state needed to go on is small and carried over.
const STEPS_PER_RUN = 100;
// A send whose moment passed longer ago than this is skipped rather than sent late.
const STALE_AFTER_MS = 24 * 3600 * 1000;
// How long a `delivered` branch waits for the carrier's receipt of a text before deciding without it.
const RECEIPT_WAIT_MS = 3600 * 1000;

export async function journeyWorkflow(input: JourneyInput): Promise<JourneyResult> {
  const { definition } = input;
  const { workflowId } = workflowInfo();
  // Journeys started before revision 1 carry no revision and keep the behaviour their history recorded.
  const revision = (input.revision as number | undefined) ?? 0;
  const applies = (patch: string) => revision >= 1 || patched(patch);
  const { planJourneyTime: planStep, sendJourneyStep: sendStep } = revision >= 1 ? local : remote;
  const state: JourneyState = input.resume ?? { stepIndex: 0, timeline: [], events: [], paused: false };
  let goalMet = state.events.includes(definition.goal.event);
  // An event that ends the journey without its aim (a discontinued medication, a cancelled appointment).
  const endsOn = (name: string) => definition.endsOn?.find((end) => end.event === name);
  let endedBy = state.events.map(endsOn).find((end) => end !== undefined);
  let cancelled = false;
  let optedOut = false;
  let nextSend: number | null = null;
  let preferencesChanged = false;
  let failed = false;

  setHandler(eventSignal, (name) => {
    state.events.push(name);
    if (name === definition.goal.event) goalMet = true;
    endedBy ??= endsOn(name);
  });
  setHandler(deliveryStatusSignal, ({ deliveryId, status }) => {
    (state.deliveryStatuses ??= {})[deliveryId] = status;
  });
  setHandler(optedOutSignal, () => {
    // Consent is re-read on every send; for a marketing journey an opt-out also ends it at once.
    optedOut = true;
  });
  setHandler(pauseSignal, () => {
    state.paused = true;
  });
  setHandler(resumeSignal, () => {
    state.paused = false;
  });
  setHandler(cancelSignal, () => {
    cancelled = true;
  });
  setHandler(preferencesChangedSignal, () => {
    preferencesChanged = true;
  });
  setHandler(currentStepQuery, () => definition.steps[state.stepIndex]?.id ?? null);
  setHandler(nextSendQuery, () => nextSend);
  setHandler(timelineQuery, () => state.timeline);

  const stopped = () =>
    goalMet ||
    endedBy !== undefined ||
    cancelled ||
    failed ||
    (optedOut && definition.category === 'marketing');
  const indexOf = (id: string | undefined, fallback: number) => stepIndexOf(definition.steps, id, fallback);
  const exitAt = (step: Extract<JourneyStep, { type: 'exit' }>) => {
    state.timeline.push({ at: Date.now(), step: step.id, outcome: 'exited', reason: step.reason ?? null });
  };
  // What templates may show: the enrollment's facts and the anchor date under its name.
  const facts = input.facts ?? {};
  const values = { ...facts, [definition.anchor]: input.anchorDate };
  const planTime = (
    when: Pick<PlanJourneyTimeInput, 'beforeSend' | 'from' | 'until' | 'for'>,
  ): Promise<number> =>
    planStep({
      ...when,
      clinicId: input.clinicId,
      patientId: input.patientId,
      workflowId,
      anchorDate: waitAnchorDate(when.until, facts, input.anchorDate),
    });
  // Planned as the enrollment was claimed; used once, by the wait it names, if nothing came first.
  let opening = input.resume ? undefined : input.firstWait;

  /**
   * Sleeps until `at`, frozen while paused. Ends early when the journey must stop, or when the patient's
   * preferences changed and the time must be worked out again.
   */
  async function waitUntil(at: number): Promise<'due' | 'stop' | 'replan'> {
    for (;;) {
      if (stopped()) return 'stop';
      if (preferencesChanged) {
        preferencesChanged = false;
        return 'replan';
      }
      if (state.paused) {
        await condition(() => !state.paused || stopped());
        continue;
      }
      const remaining = at - Date.now();
      if (remaining <= 0) return 'due';
      await condition(() => stopped() || state.paused || preferencesChanged, remaining);
    }
  }

  // The moment the journey's last step happened, when it is known exactly: the moment a wait was for, or
  // a send was due. The next step counts from it, not from the clock after a local activity (which has
  // moved on by the activity's own duration). Steps that take unknown time (an event or its timeout, a
  // receipt, a read) forget it; branches decided on what the journey holds keep it.
  let moment: number | undefined;
  let stepsThisRun = 0;
  while (state.stepIndex < definition.steps.length && !stopped()) {
    if (state.paused) {
      opening = undefined;
      await condition(() => !state.paused || stopped());
      continue;
    }
    if (stepsThisRun >= STEPS_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof journeyWorkflow>({ ...input, resume: state });
    }
    stepsThisRun++;
    const step = definition.steps[state.stepIndex]!;
    let next =
      step.type === 'wait' || step.type === 'send'
        ? indexOf(step.next, state.stepIndex + 1)
        : state.stepIndex + 1;

    switch (step.type) {
      case 'wait': {
        const from = moment ?? Date.now();
        const following = definition.steps[next];
        const afterFollowing = following?.type === 'send' ? indexOf(following.next, next + 1) : next + 1;
        let waited: Awaited<ReturnType<typeof waitUntil>>;
        let stale: boolean;
        let at: number;
        do {
          const planned = opening?.step === step.id ? opening.at : undefined;
          opening = undefined;
          at =
            planned ??
            (await planTime({
              beforeSend: following?.type === 'send',
              from,
              until: step.until,
              for: step.for,
            }));
          // Enrolled late (a sweep after the date, an event sent days after it happened): a message whose
          // words belong to that moment is skipped. Journeys from before this rule replay as they ran.
          stale =
            step.ifPassed === 'skip' &&
            following?.type === 'send' &&
            at < Date.now() - STALE_AFTER_MS &&
            applies('skip-stale-sends');
          waited = stale ? 'due' : await waitUntil(at);
        } while (waited === 'replan');
        if (waited === 'stop') continue;
        if (stale && following) {
          state.timeline.push({ at: Date.now(), step: following.id, outcome: 'skipped', reason: 'stale' });
          next = afterFollowing;
          moment = undefined;
        } else if (revision >= 1) moment = at;
        break;
      }
      case 'send': {
        const variant = step.variants ? chooseVariant(input.patientId, step.id, step.variants) : undefined;
        // One delivery per visit of this step, whichever run of the workflow makes it.
        const visit = state.timeline.filter((entry) => entry.step === step.id).length;
        let dueAt = moment ?? Date.now();
        moment = undefined;
        let deferredBecause: string | undefined;
        const template = variant?.template ?? step.template;
        // Only this template's texts travel with the send; journeys without any send what they always did.
        const texts = Object.fromEntries(
          Object.entries(definition.texts ?? {}).flatMap(([language, byTemplate]) =>
            byTemplate[template] ? [[language, byTemplate[template]]] : [],
          ),
        );
        // Nothing after this send but the end (or an exit step): its transaction ends the enrollment.
        const following = definition.steps[next];
        const endsJourney =
          revision >= 2 && (following === undefined || following.type === 'exit')
            ? { reason: following?.type === 'exit' ? (following.reason ?? null) : null }
            : undefined;
        const send = {
          clinicId: input.clinicId,
          patientId: input.patientId,
          workflowId,
          journeyKey: definition.key,
          stepId: step.id,
          category: definition.category,
          template,
          ...(Object.keys(texts).length > 0 ? { texts } : {}),
          variant: variant?.key ?? null,
          channels: step.channels,
          facts: values,
          idempotencyKey: `${workflowInfo().workflowId}:${step.id}:${visit}`,
        };
        for (;;) {
          nextSend = dueAt;
          let outcome: Awaited<ReturnType<typeof sendStep>>;
          try {
            outcome = await sendStep({ ...send, dueAt, endsJourney });
          } catch (error) {
            // Journeys that began before failed sends were closed here fail as they always did.
            if (!isActivityFailure(error) || !applies('close-failed-send')) throw error;
            // Retries ran out (or the patient is gone): the due step still ends as one delivery row.
            if (!isFailureOf(error, 'PatientNotFound')) {
              state.timeline.push(
                await closeDeferredSend({ ...send, dueAt, reason: unsentReason(error), status: 'failed' }),
              );
            }
            failed = true;
            break;
          }
          if (outcome.kind === 'defer') {
            nextSend = outcome.until;
            // Quiet hours or frequency caps: the same send, later; never dropped.
            const waited = await waitUntil(outcome.until);
            if (waited === 'stop') {
              // The step was due: it still ends as a delivery, suppressed because the journey ended.
              state.timeline.push(
                await closeDeferredSend({ ...send, dueAt: Date.now(), reason: 'journey-ended' }),
              );
              break;
            }
            // With changed preferences (another zone, channel or consent) it may be allowed sooner.
            dueAt = waited === 'replan' ? Date.now() : outcome.until;
            deferredBecause = outcome.reason;
            continue;
          }
          state.timeline.push(
            deferredBecause
              ? { ...outcome.entry, reason: outcome.entry.reason ?? `deferred:${deferredBecause}` }
              : outcome.entry,
          );
          if (outcome.ended) {
            // The journey completed in the send's transaction; a signal that came during the send came
            // after its end, as it would have a moment later.
            if (following?.type === 'exit') exitAt(following);
            return { outcome: 'completed', timeline: state.timeline };
          }
          if (revision >= 1) moment = dueAt;
          break;
        }
        nextSend = null;
        break;
      }
      case 'waitForEvent': {
        const from = moment ?? Date.now();
        moment = undefined;
        const seenBefore = state.events.length;
        const arrived = () => state.events.slice(seenBefore).includes(step.event);
        const deadline = await planTime({
          // Unless the event comes first, the timeout leads on to a send (a follow-up).
          beforeSend: definition.steps[indexOf(step.onTimeout, next)]?.type === 'send',
          from,
          for: step.timeout,
        });
        await condition(() => arrived() || stopped(), Math.max(deadline - Date.now(), 1));
        if (stopped()) continue;
        const happened = arrived();
        state.timeline.push({ at: Date.now(), step: step.id, outcome: happened ? 'event' : 'timeout' });
        next = indexOf(happened ? step.onEvent : step.onTimeout, next);
        break;
      }
      case 'branch': {
        const { condition: test } = step;
        // These may wait for a receipt or ask the database; the others are decided on what the journey holds.
        if (test.kind === 'delivered' || test.kind === 'attribute') moment = undefined;
        let holds: boolean;
        if (test.kind === 'delivered' && applies('delivered-means-delivered')) {
          // Delivered means the phone has it: a text handed to the carrier waits (bounded) for its receipt,
          // which the status webhook (or the fallback to email) signals; without one, the row decides.
          const entry = state.timeline.filter((seen) => seen.step === test.step).at(-1);
          if (!entry || (entry.outcome !== 'sent' && entry.outcome !== 'delivered')) holds = false;
          else if (entry.outcome === 'delivered' || entry.channel !== 'sms' || !entry.deliveryId)
            holds = true;
          else {
            const deliveryId = entry.deliveryId;
            await condition(
              () => state.deliveryStatuses?.[deliveryId] !== undefined || stopped(),
              RECEIPT_WAIT_MS,
            );
            if (stopped()) continue;
            const receipt =
              state.deliveryStatuses?.[deliveryId] ??
              (await readDeliveryStatus({ clinicId: input.clinicId, deliveryId }));
            holds = receipt === 'delivered';
          }
        } else if (test.kind === 'delivered') {
          holds = state.timeline.some(
            (entry) =>
              entry.step === test.step && (entry.outcome === 'sent' || entry.outcome === 'delivered'),
          );
        } else if (test.kind === 'replied') {
          holds = state.events.includes('message.replied');
        } else if (test.kind === 'fact') {
          holds = factConditionHolds(test, facts);
        } else {
          const value = await readPatientAttribute({
            clinicId: input.clinicId,
            patientId: input.patientId,
            attribute: test.attribute,
          });
          holds = value === test.equals;
        }
        next = indexOf(holds ? step.then : step.else, next);
        break;
      }
      case 'exit': {
        exitAt(step);
        next = definition.steps.length;
        break;
      }
    }
    if (step.type !== 'branch' || step.condition.kind !== 'fact') opening = undefined;
    state.stepIndex = next;
  }

  if (goalMet || endedBy) {
    state.timeline.push({
      at: Date.now(),
      step: definition.steps[state.stepIndex]?.id ?? 'end',
      outcome: goalMet ? 'goal' : 'ended',
      reason: goalMet ? definition.goal.event : endedBy!.reason,
    });
  }
  const outcome: JourneyOutcome = goalMet
    ? 'goal-met'
    : endedBy
      ? 'ended'
      : failed
        ? 'failed'
        : cancelled
          ? 'cancelled'
          : optedOut && definition.category === 'marketing'
            ? 'opted-out'
            : 'completed';
  const exit = state.timeline.at(-1);
  const reason = goalMet
    ? definition.goal.event
    : endedBy
      ? endedBy.reason
      : outcome === 'completed' && exit?.outcome === 'exited'
        ? exit.reason
        : null;
  // Journeys that began before enrollments recorded their end replay without this call.
  if (applies('record-journey-end'))
    await local.recordJourneyEnd({ clinicId: input.clinicId, workflowId, outcome, reason });
  return { outcome, timeline: state.timeline };
}
