// A relay's asynchronous bounce report (POST /webhooks/email/bounce): the delivery is found by the
// Message-ID carebell gave the email (`<delivery id>@<sending domain>`). A hard bounce puts the address on
// the suppression list, records the failure in the delivery's history and falls back to the remaining
// channels within the same delivery, once (workflows/fallback.ts). A soft bounce is recorded only: the
// relay retries those itself.
import { appendAudit } from '../db/queries/audit';
import { getDelivery } from '../db/queries/deliveries';
import { deliveryByProviderId, recordDeliveryEvent } from '../db/queries/replies';
import { suppressAddress } from '../db/queries/suppressions';
import { withClinic } from '../db/tenant';
import type { EnrollmentDeps } from './enroll';
import { startFallback } from './start-workflows';

export interface EmailBounce {
  messageId: string;
  recipient: string;
  type: 'hard' | 'soft';
  /** The relay's words (e.g. "smtp; 550 5.1.1 user unknown"); only the reply codes are kept. */
  diagnostic?: string;
}

export type BounceOutcome =
  | { matched: false }
  | { matched: true; deliveryId: string; action: 'suppressed-and-falling-back' | 'recorded' };

const ACTOR = 'email-bounce-webhook';

/** "550 5.1.1" from a diagnostic that may also quote the address (PHI): codes only, never the text. */
export function diagnosticCodes(diagnostic: string | undefined): string | undefined {
  if (!diagnostic) return undefined;
  const reply = /\b([245]\d\d)\b/.exec(diagnostic)?.[1];
  const enhanced = /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(diagnostic)?.[1];
  const codes = [reply, enhanced].filter(Boolean).join(' ');
  return codes || undefined;
}

export async function handleEmailBounce(deps: EnrollmentDeps, bounce: EmailBounce): Promise<BounceOutcome> {
  const messageId = bounce.messageId.trim().replace(/^<|>$/g, '');
  const found = await deliveryByProviderId(deps.db, messageId);
  if (!found) return { matched: false };
  const { clinicId, id: deliveryId } = found;
  const recipientIndex = deps.cipher.blindIndex('email', clinicId, bounce.recipient.trim().toLowerCase());
  const matched = await withClinic(deps.db, clinicId, async (tx) => {
    const delivery = await getDelivery(tx, clinicId, deliveryId);
    // The report must be about the address this message went to: a report naming another changes nothing.
    if (!delivery || delivery.channel !== 'email' || delivery.addressIndex !== recipientIndex) return false;
    const hard = bounce.type === 'hard';
    await recordDeliveryEvent(tx, {
      clinicId,
      deliveryId,
      status: hard ? 'failed' : 'sent',
      providerStatus: hard ? 'bounce-hard' : 'bounce-soft',
      providerError: diagnosticCodes(bounce.diagnostic),
    });
    if (hard) {
      await suppressAddress(tx, {
        clinicId,
        channel: 'email',
        addressIndex: recipientIndex,
        reason: 'hard-bounce',
      });
    }
    await appendAudit(tx, {
      actor: ACTOR,
      clinicId,
      action: hard ? 'message.bounce.hard' : 'message.bounce.soft',
      objectType: 'delivery',
      objectId: deliveryId,
      outcome: 'success',
    });
    return true;
  });
  if (!matched) return { matched: false };
  if (bounce.type === 'soft') return { matched: true, deliveryId, action: 'recorded' };
  // After commit (a workflow start cannot be rolled back). A report sent again starts nothing new, and
  // one whose first start failed (Temporal down) starts it now: the events above are already recorded.
  await startFallback(deps.client, deps.taskQueue, { clinicId, deliveryId, failedChannel: 'email' });
  return { matched: true, deliveryId, action: 'suppressed-and-falling-back' };
}
