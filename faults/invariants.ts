// What must hold after every fault, whatever broke: each due step ended as exactly one delivery row (never
// left pending), no message reached a peer twice, every workflow finished, no enrollment is left active
// for a finished workflow, and the audit chain verifies. Violations are added to the context.
import { sql } from 'drizzle-orm';
import { verifyAuditChain } from '../db/queries/audit';
import { messageLinkToken } from '../security/message-link';
import type { JourneyResult } from '../domain/journey';
import { sleep, type FaultContext } from './context';

export interface InvariantReport {
  deliveries: number;
  byStatus: Record<string, number>;
  dueSteps: number;
  peerMessages: number;
  peerDuplicates: number;
  stuck: number;
  activeEnrollments: number;
  audit: string;
}

const DUE_STEP_OUTCOMES = new Set(['sent', 'delivered', 'failed', 'suppressed']);

interface DeliveryRow extends Record<string, unknown> {
  id: string;
  clinic_id: string;
  patient_id: string;
  status: string;
  reason: string | null;
  channel: string | null;
}

export async function checkInvariants(ctx: FaultContext, settleMs: number): Promise<InvariantReport> {
  const enrolled = await ctx.owner.execute<{ workflow_id: string; status: string }>(
    sql`select workflow_id, status from enrollments`,
  );
  const workflowIds = new Set([...ctx.workflowIds, ...enrolled.map((row) => row.workflow_id)]);

  // No journey stuck: every workflow finishes within the bound.
  const outcomes = await settle(ctx, [...workflowIds], settleMs);
  let stuck = 0;
  let dueSteps = 0;
  for (const [workflowId, outcome] of outcomes) {
    if (outcome.kind === 'running') {
      stuck++;
      ctx.violations.push(`workflow ${workflowId} still running after ${Math.round(settleMs / 1000)}s`);
    } else if (outcome.kind === 'failed') {
      ctx.violations.push(`workflow ${workflowId} ended ${outcome.how}`);
    } else {
      dueSteps += outcome.dueSteps;
    }
  }

  // Every due step is exactly one row, settled, with a reason when it did not go out.
  const rows = [
    ...(await ctx.owner.execute<DeliveryRow>(
      sql`select id, clinic_id, patient_id, status, reason, channel from deliveries`,
    )),
  ];
  const byStatus: Record<string, number> = {};
  for (const row of rows) byStatus[row.status] = (byStatus[row.status] ?? 0) + 1;
  if (byStatus.pending) ctx.violations.push(`${byStatus.pending} delivery row(s) left pending`);
  const unexplained = rows.filter(
    (row) => (row.status === 'suppressed' || row.status === 'failed') && !row.reason,
  );
  if (unexplained.length)
    ctx.violations.push(`${unexplained.length} failed/suppressed row(s) without a reason`);
  if (rows.length !== dueSteps)
    ctx.violations.push(`${dueSteps} due step(s) ended, but ${rows.length} delivery row(s) exist`);

  // No message reached a peer twice; each one belongs to a row that says it went out.
  const token = (row: DeliveryRow) => messageLinkToken(ctx.cipher, 'pickup', row.clinic_id, row.id);
  const byToken = new Map(rows.map((row) => [token(row), row]));
  const byId = new Map(rows.map((row) => [row.id, row]));
  const received: { delivery: DeliveryRow | undefined; channel: 'sms' | 'email' }[] = [
    ...ctx.peers.sms.messages().map((message) => ({
      delivery: byToken.get(/\/m\/([A-Za-z0-9_-]{12})/.exec(message.body)?.[1] ?? ''),
      channel: 'sms' as const,
    })),
    ...(await ctx.peers.smtp.messages()).map((raw) => ({
      delivery: byId.get(/^Message-ID:\s*<([^@>\s]+)@/im.exec(raw)?.[1] ?? ''),
      channel: 'email' as const,
    })),
  ];
  const perDelivery = new Map<string, number>();
  let unmatched = 0;
  for (const message of received) {
    if (!message.delivery) {
      unmatched++;
      continue;
    }
    perDelivery.set(message.delivery.id, (perDelivery.get(message.delivery.id) ?? 0) + 1);
    if (
      !['sent', 'delivered'].includes(message.delivery.status) ||
      message.delivery.channel !== message.channel
    )
      ctx.violations.push(
        `a message reached the ${message.channel} peer for delivery ${message.delivery.id}, recorded ${message.delivery.status} on ${message.delivery.channel ?? 'no channel'}`,
      );
  }
  let duplicates = unmatched;
  for (const count of perDelivery.values()) duplicates += count - 1;
  if (unmatched) ctx.violations.push(`${unmatched} message(s) at the peers match no delivery`);
  if (duplicates - unmatched > 0)
    ctx.violations.push(`${duplicates - unmatched} message(s) reached a peer more than once`);
  for (const row of rows) {
    if ((row.status === 'sent' || row.status === 'delivered') && !perDelivery.has(row.id))
      ctx.violations.push(`delivery ${row.id} is recorded ${row.status} but never reached the peer`);
  }
  // Each scenario's patients are due at most one message that day (the transactional cap).
  const perPatient = new Map<string, number>();
  for (const message of received) {
    if (message.delivery)
      perPatient.set(message.delivery.patient_id, (perPatient.get(message.delivery.patient_id) ?? 0) + 1);
  }
  for (const [patientId, count] of perPatient) {
    if (count > 1) ctx.violations.push(`patient ${patientId} received ${count} messages in one day`);
  }

  // No enrollment left active for a workflow that finished.
  const active = await ctx.owner.execute<{ workflow_id: string }>(
    sql`select workflow_id from enrollments where status = 'active'`,
  );
  const activeEnrollments = active.filter((row) => outcomes.get(row.workflow_id)?.kind !== 'running').length;
  if (activeEnrollments)
    ctx.violations.push(`${activeEnrollments} enrollment(s) still active for a finished workflow`);

  const chain = await verifyAuditChain(ctx.owner);
  const audit = chain.broken ? `broken at row ${chain.broken.id}` : 'ok';
  if (chain.broken) ctx.violations.push(`audit chain: row ${chain.broken.id} ${chain.broken.reason}`);

  return {
    deliveries: rows.length,
    byStatus,
    dueSteps,
    peerMessages: received.length,
    peerDuplicates: duplicates,
    stuck,
    activeEnrollments,
    audit,
  };
}

type Outcome =
  { kind: 'completed'; dueSteps: number } | { kind: 'failed'; how: string } | { kind: 'running' };

/**
 * Waits for every workflow to close, up to `settleMs` in all; what each came to. Polls their status, so no
 * long-poll is left open on the connection when the scenario closes it.
 */
async function settle(ctx: FaultContext, workflowIds: string[], settleMs: number) {
  const outcomes = new Map<string, Outcome>();
  const deadline = Date.now() + settleMs;
  let open = [...workflowIds];
  for (;;) {
    const statuses = await Promise.all(
      open.map(async (workflowId) => {
        const status = await ctx.client.workflow
          .getHandle(workflowId)
          .describe()
          .then(
            (description) => description.status.name,
            () => 'UNREACHABLE',
          );
        return [workflowId, status] as const;
      }),
    );
    for (const [workflowId, status] of statuses) {
      if (status === 'RUNNING' || status === 'UNREACHABLE') continue;
      if (status !== 'COMPLETED') {
        outcomes.set(workflowId, { kind: 'failed', how: status });
        continue;
      }
      const result: unknown = await ctx.client.workflow
        .getHandle(workflowId)
        .result()
        .catch((error: unknown) => error);
      outcomes.set(
        workflowId,
        result instanceof Error
          ? { kind: 'failed', how: `COMPLETED, unreadable result: ${result.message}` }
          : { kind: 'completed', dueSteps: dueStepsOf(result) },
      );
    }
    open = open.filter((workflowId) => !outcomes.has(workflowId));
    if (open.length === 0 || Date.now() > deadline) break;
    await sleep(500);
  }
  for (const workflowId of open) outcomes.set(workflowId, { kind: 'running' });
  return outcomes;
}

/** A reminder is one due send; a journey's are the sends on its timeline; a sweep has none. */
function dueStepsOf(result: unknown): number {
  if (result && typeof result === 'object') {
    if ('timeline' in result)
      return (result as JourneyResult).timeline.filter((entry) => DUE_STEP_OUTCOMES.has(entry.outcome))
        .length;
    if ('deliveryId' in result) return 1;
  }
  return 0;
}
