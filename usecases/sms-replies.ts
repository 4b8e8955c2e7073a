// A patient's SMS reply: matched to the clinic by the number it was sent to and to the patient by the
// blind index of the number it came from, recorded (encrypted, once per provider message id), and acted
// on: an opt-out or opt-in recorded as consent at once, HELP answered, CONFIRM / CANCEL APPT / DONE passed
// to the journeys as events, and a stop in other words flagged for staff. The answer to send back (one
// confirmation per change of consent, or the HELP text) is returned for the webhook's TwiML.
import { WorkflowNotFoundError } from '@temporalio/client';
import { and, desc, eq, inArray, isNotNull } from 'drizzle-orm';
import { appendAudit } from '../db/queries/audit';
import { getClinic } from '../db/queries/clinics';
import { latestConsents, recordConsent } from '../db/queries/consents';
import { getPatientSettings } from '../db/queries/patients';
import {
  allClinicIds,
  clinicsBySmsNumber,
  lastSmsTo,
  linkReply,
  lockKey,
  patientsWithSmsAddress,
  recordInbound,
} from '../db/queries/replies';
import { consents, deliveries, enrollments } from '../db/schema';
import { withClinic, type Transaction } from '../db/tenant';
import { eventSignal } from '../domain/journey';
import type { Category } from '../domain/messaging';
import type { Logger } from '../infra/logger';
import { displayPhone, type ReplyKind, type Translator } from '../locales';
import { settingsOf } from '../journeys/clinic-settings';
import type { EnrollmentDeps } from './enroll';
import { handleEvent } from './handle-event';
import { notifyJourneys } from './patients';
import { understandReply, type ReplyIntent } from './reply-intent';

export interface ReplyDeps extends EnrollmentDeps {
  translator: Translator;
  log: Logger;
  /** The deployment's own SMS number (TWILIO_FROM_NUMBER), shared by clinics that have none of their own. */
  sharedNumber?: string;
}

export interface InboundSms {
  messageSid: string;
  from: string;
  to: string;
  body: string;
}

export interface InboundOutcome {
  /** Nothing is done for a number no clinic texts from. */
  clinicId?: string;
  patientIds: string[];
  intent: ReplyIntent;
  flagged: boolean;
  /** A webhook delivered again: recorded and acted on the first time. */
  repeat: boolean;
  /** What to text back, if anything. */
  reply?: string;
}

const ACTOR = 'sms-reply';
const CATEGORIES: Category[] = ['transactional', 'marketing'];
const EVENT_OF: Partial<Record<ReplyIntent, string>> = {
  confirm: 'appointment.confirmed',
  cancel: 'appointment.cancel-requested',
  done: 'task.done',
};
// The consent rows a reply writes carry this source; START looks for them to know what STOP took away.
const SOURCE = 'sms-reply';

export async function handleInboundSms(deps: ReplyDeps, sms: InboundSms): Promise<InboundOutcome> {
  const from = sms.from.trim();
  const clinicId = await clinicFor(deps, sms.to.trim(), from);
  const understood = understandReply(sms.body);
  if (!clinicId) {
    deps.log.warn({ messageSid: sms.messageSid }, 'SMS reply to a number no clinic texts from');
    return { patientIds: [], intent: understood.intent, flagged: understood.flagged, repeat: false };
  }
  const fromIndex = deps.cipher.blindIndex('phone', clinicId, from);

  const acted = await withClinic(deps.db, clinicId, async (tx) => {
    const clinic = (await getClinic(tx, clinicId))!;
    const patientIds = await patientsWithSmsAddress(tx, clinicId, fromIndex);
    // Sends and replies of these patients wait for each other: a STOP is never half-seen by a send.
    for (const patientId of patientIds) await lockKey(tx, `patient:${patientId}`);
    const first = await recordInbound(tx, deps.cipher, {
      clinicId,
      // Family members sharing a phone: the reply is on the timeline of the first; consent changes for all.
      patientId: patientIds[0] ?? null,
      providerMessageId: sms.messageSid,
      fromIndex,
      body: sms.body,
      intent: understood.intent,
      flagged: understood.flagged,
    });
    for (const patientId of patientIds) {
      await appendAudit(tx, {
        actor: ACTOR,
        clinicId,
        action: 'patient.sms-reply',
        objectType: 'patient',
        objectId: patientId,
        outcome: 'success',
      });
    }
    if (!first) return { clinic, patientIds, repeat: true, changed: false, language: undefined };
    const evidence = JSON.stringify({
      method: 'sms-keyword',
      intent: understood.intent,
      reply: sms.body,
      messageSid: sms.messageSid,
      receivedAt: new Date().toISOString(),
    });
    let changed = false;
    if (understood.intent === 'stop' || understood.intent === 'start') {
      for (const patientId of patientIds) {
        const granted = understood.intent === 'start';
        if (await changeSmsConsent(tx, deps, clinicId, patientId, granted, evidence)) changed = true;
      }
    }
    const settings = patientIds[0] ? await getPatientSettings(tx, clinicId, patientIds[0]) : undefined;
    return { clinic, patientIds, repeat: false, changed, language: settings?.language };
  });

  const outcome: InboundOutcome = {
    clinicId,
    patientIds: acted.patientIds,
    intent: understood.intent,
    flagged: understood.flagged,
    repeat: acted.repeat,
  };
  if (acted.repeat) return outcome;
  deps.log.info(
    { clinicId, messageSid: sms.messageSid, intent: understood.intent, flagged: understood.flagged },
    'SMS reply',
  );

  const clinicLanguage = settingsOf(acted.clinic.settings).defaultLanguage;
  const text = (kind: ReplyKind) =>
    deps.translator.renderReply(kind, {
      language: acted.language ?? understood.language ?? clinicLanguage,
      clinicLanguage,
      clinic: acted.clinic.displayName ?? acted.clinic.name,
      phone: acted.clinic.contactPhone ? displayPhone(acted.clinic.contactPhone) : undefined,
    }).text;

  if (understood.intent === 'stop' && acted.changed) {
    for (const patientId of acted.patientIds) await notifyJourneys(deps, clinicId, patientId, 'sms');
    outcome.reply = text('stopConfirmation');
  } else if (understood.intent === 'start' && acted.changed) {
    for (const patientId of acted.patientIds) await notifyJourneys(deps, clinicId, patientId, 'preferences');
    outcome.reply = text('startConfirmation');
  } else if (understood.intent === 'help') {
    outcome.reply = text('help');
  } else if (EVENT_OF[understood.intent]) {
    for (const patientId of acted.patientIds)
      await passEvent(deps, clinicId, patientId, fromIndex, EVENT_OF[understood.intent]!, sms.messageSid);
  }
  return outcome;
}

/**
 * STOP revokes SMS consent in both categories; START restores what STOP took away: transactional texts,
 * and marketing texts only if the patient had opted in before. True when anything changed, so that one
 * confirmation goes per change (a second STOP while opted out sends none).
 */
async function changeSmsConsent(
  tx: Transaction,
  deps: ReplyDeps,
  clinicId: string,
  patientId: string,
  granted: boolean,
  evidence: string,
): Promise<boolean> {
  const latest = await latestConsents(tx, clinicId, patientId);
  let changed = false;
  for (const category of CATEGORIES) {
    const current = latest.get(`sms/${category}`);
    let next: boolean | undefined;
    if (!granted) {
      // Marketing with no opt-in is already off; transactional is on unless revoked.
      next = current === false || (category === 'marketing' && current === undefined) ? undefined : false;
    } else if (current === false) {
      next = category === 'transactional' || (await optedInBeforeStop(tx, clinicId, patientId)) || undefined;
    }
    if (next === undefined) continue;
    await recordConsent(tx, deps.cipher, {
      clinicId,
      patientId,
      channel: 'sms',
      category,
      granted: next,
      source: SOURCE,
      evidence,
      actor: ACTOR,
    });
    changed = true;
  }
  return changed;
}

/** Whether the SMS marketing decision before the latest revocation by reply was an opt-in. */
async function optedInBeforeStop(tx: Transaction, clinicId: string, patientId: string): Promise<boolean> {
  const history = await tx
    .select({ granted: consents.granted, source: consents.source })
    .from(consents)
    .where(
      and(
        eq(consents.clinicId, clinicId),
        eq(consents.patientId, patientId),
        eq(consents.channel, 'sms'),
        eq(consents.category, 'marketing'),
      ),
    )
    .orderBy(desc(consents.recordedAt))
    .limit(2);
  return history[0]?.source === SOURCE && history[0].granted === false && history[1]?.granted === true;
}

/**
 * CONFIRM and CANCEL APPT answer the message they reply to: the event goes to the journey of the latest
 * text sent to this number, while it runs. Without one, the event goes to the patient's running journeys
 * as any EHR event would (those about a particular appointment or prescription only hear of events about
 * it, so they are not reached that way).
 */
async function passEvent(
  deps: ReplyDeps,
  clinicId: string,
  patientId: string,
  fromIndex: string,
  type: string,
  messageSid: string,
): Promise<void> {
  const target = await withClinic(deps.db, clinicId, async (tx) => {
    const [latest] = await tx
      .select({ workflowId: deliveries.workflowId })
      .from(deliveries)
      .where(
        and(
          eq(deliveries.clinicId, clinicId),
          eq(deliveries.patientId, patientId),
          eq(deliveries.channel, 'sms'),
          eq(deliveries.addressIndex, fromIndex),
          inArray(deliveries.status, ['sent', 'delivered']),
          isNotNull(deliveries.workflowId),
        ),
      )
      .orderBy(desc(deliveries.completedAt))
      .limit(1);
    if (!latest?.workflowId) return undefined;
    const [running] = await tx
      .select({ id: enrollments.id, workflowId: enrollments.workflowId })
      .from(enrollments)
      .where(
        and(
          eq(enrollments.clinicId, clinicId),
          eq(enrollments.workflowId, latest.workflowId),
          eq(enrollments.status, 'active'),
        ),
      );
    return running;
  });
  if (target) {
    try {
      await deps.client.workflow.getHandle(target.workflowId).signal(eventSignal, type);
      await withClinic(deps.db, clinicId, (tx) => linkReply(tx, clinicId, messageSid, target.id));
      return;
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  }
  try {
    await handleEvent(
      deps,
      clinicId,
      { type, patient: { id: patientId }, eventId: `sms:${messageSid}` },
      ACTOR,
    );
  } catch (error) {
    deps.log.warn({ clinicId, type, err: { type: (error as Error).name } }, 'reply event not acted on');
  }
}

/**
 * The clinic a reply is for. A clinic's own number (clinics.sms_sender) names it. The deployment's shared
 * number (TWILIO_FROM_NUMBER, used by every clinic without a number of its own) is resolved by the sender:
 * the one clinic of those without a number that has a patient with that phone, or, when several do, the
 * one that texted it last. Nothing is done for any other number.
 */
async function clinicFor(deps: ReplyDeps, to: string, from: string): Promise<string | undefined> {
  const own = await clinicsBySmsNumber(deps.db, to);
  if (own.length > 0) return own[0];
  if (!deps.sharedNumber || to !== deps.sharedNumber) return undefined;
  let best: { clinicId: string; at: number } | undefined;
  for (const clinicId of await allClinicIds(deps.db)) {
    const found = await withClinic(deps.db, clinicId, async (tx) => {
      const clinic = await getClinic(tx, clinicId);
      if (!clinic || clinic.smsSender) return undefined;
      const index = deps.cipher.blindIndex('phone', clinicId, from);
      if ((await patientsWithSmsAddress(tx, clinicId, index)).length === 0) return undefined;
      return { clinicId, at: (await lastSmsTo(tx, clinicId, index))?.getTime() ?? 0 };
    });
    if (found && (!best || found.at > best.at)) best = found;
  }
  return best?.clinicId;
}
