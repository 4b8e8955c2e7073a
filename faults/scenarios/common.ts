// Small helpers the scenarios share: a zone where sends may leave now, journey definitions that finish on
// their own, and the checks on a reminder's result and delivery row.
import { sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import type { Category } from '../../domain/messaging';
import type { ReminderResult } from '../../domain/reminder';
import { validateJourney, type JourneyDefinition, type JourneyStep } from '../../journeys/schema';
import { sleep, Violation, type FaultContext } from '../context';

/**
 * A fixed-offset zone (Etc/GMT±N, no DST) where the local hour now is as near `hour` as offsets allow, so
 * the sending window (08:00-21:00) is open for the whole scenario.
 */
export function zoneAtHour(hour = 13): string {
  const utcHour = DateTime.utc().hour;
  let best = 0;
  for (let offset = -12; offset <= 14; offset++) {
    const local = (utcHour + offset + 24) % 24;
    const bestLocal = (utcHour + best + 24) % 24;
    if (Math.abs(local - hour) < Math.abs(bestLocal - hour)) best = offset;
  }
  // IANA's Etc zones have the POSIX sign: Etc/GMT-3 is three hours ahead of UTC.
  return best === 0 ? 'Etc/UTC' : `Etc/GMT${best > 0 ? '-' : '+'}${Math.abs(best)}`;
}

/** A journey that waits (optionally), sends once and exits: it finishes on its own. */
export function oneSendJourney(
  key: string,
  options: { wait?: JourneyStep; template?: string; category?: Category } = {},
): JourneyDefinition {
  const validated = validateJourney({
    key,
    version: 1,
    name: key,
    category: options.category ?? 'transactional',
    trigger: { event: 'faults.start' },
    anchor: 'lastVisitDate',
    goal: { event: 'faults.goal' },
    steps: [
      ...(options.wait ? [options.wait] : []),
      { id: 'send', type: 'send', template: options.template ?? 'reminder' },
      { id: 'done', type: 'exit', reason: 'fault-suite' },
    ],
  });
  if (!validated.ok) throw new Error(`invalid journey ${key}: ${validated.errors.join('; ')}`);
  return validated.value;
}

/** The scenario's reminder ended sent on `channel`; anything else is a violation. */
export function expectSent(
  ctx: FaultContext,
  what: string,
  result: ReminderResult,
  channel: 'sms' | 'email',
): boolean {
  return ctx.expect(
    (result.status === 'sent' || result.status === 'delivered') && result.channel === channel,
    `${what}: ended ${result.status} on ${result.channel ?? 'no channel'} (${result.reason ?? 'no reason'}), expected sent on ${channel}`,
  );
}

export async function deliveryRow(ctx: FaultContext, deliveryId: string) {
  const [row] = await ctx.owner.execute<{
    attempts: number;
    created_at: string;
    last_attempt_at: string | null;
    provider_message_id: string | null;
    status: string;
  }>(
    sql`select attempts, created_at, last_attempt_at, provider_message_id, status from deliveries where id = ${deliveryId}`,
  );
  if (!row) throw new Violation(`delivery ${deliveryId} has no row`);
  return {
    ...row,
    createdAt: new Date(row.created_at),
    lastAttemptAt: row.last_attempt_at === null ? undefined : new Date(row.last_attempt_at),
  };
}

/**
 * A workflow's result once it has finished, within `timeoutMs`; a Violation if it does not finish or
 * fails. Polls rather than long-polls, so nothing is left waiting on the connection when the scenario ends.
 */
export async function resultWithin<T>(
  handle: { describe: () => Promise<{ status: { name: string } }>; result: () => Promise<T> },
  what: string,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await handle.describe().then(
      (description) => description.status.name,
      () => 'UNREACHABLE',
    );
    if (status !== 'RUNNING' && status !== 'UNREACHABLE') break;
    if (Date.now() > deadline)
      throw new Violation(`${what}: not finished within ${Math.round(timeoutMs / 1000)}s`);
    await sleep(500);
  }
  try {
    return await handle.result();
  } catch (error) {
    throw new Violation(`${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export const messagesTo = (ctx: FaultContext, phone: string) =>
  ctx.peers.sms.messages().filter((message) => message.to === phone);

export const emailsTo = async (ctx: FaultContext, address: string) =>
  (await ctx.peers.smtp.messages()).filter((raw) => new RegExp(`^To: ${address}`, 'im').test(raw));
