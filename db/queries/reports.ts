// What a clinic's journeys did over a period, counted in PostgreSQL: enrollments by when they started,
// deliveries by when they were due, consents by when they were given or taken back.
import { sql } from 'drizzle-orm';
import type { Queryable } from '../tenant';

export interface ReportRange {
  clinicId: string;
  from: Date;
  to: Date;
  journey?: string;
}

export type DeliveryCount = {
  journey: string | null;
  channel: string | null;
  language: string | null;
  variant: string | null;
  languageFallback: boolean;
  status: string;
  reason: string | null;
  count: number;
};

export type EnrollmentCount = {
  journey: string;
  status: string;
  outcome: string | null;
  count: number;
};

const journeyFilter = (column: string, journey?: string) =>
  journey === undefined ? sql`` : sql` and ${sql.raw(column)} = ${journey}`;

export async function deliveryCounts(db: Queryable, range: ReportRange): Promise<DeliveryCount[]> {
  const rows = await db.execute<DeliveryCount & { count: string }>(sql`
    select journey_key as journey, channel, language, variant, language_fallback as "languageFallback",
           status, reason, count(*) as count
    from deliveries
    where clinic_id = ${range.clinicId} and due_at >= ${range.from.toISOString()} and due_at < ${range.to.toISOString()}
    ${journeyFilter('journey_key', range.journey)}
    group by 1, 2, 3, 4, 5, 6, 7`);
  return rows.map((row) => ({ ...row, count: Number(row.count) }));
}

export async function enrollmentCounts(db: Queryable, range: ReportRange): Promise<EnrollmentCount[]> {
  const rows = await db.execute<EnrollmentCount & { count: string }>(sql`
    select journey_key as journey, status, outcome, count(*) as count
    from enrollments
    where clinic_id = ${range.clinicId} and started_at >= ${range.from.toISOString()} and started_at < ${range.to.toISOString()}
    ${journeyFilter('journey_key', range.journey)}
    group by 1, 2, 3`);
  return rows.map((row) => ({ ...row, count: Number(row.count) }));
}

/** Per A/B variant: enrollments started and, of them, goals met. */
export async function variantOutcomes(db: Queryable, range: ReportRange) {
  const rows = await db.execute<{
    journey: string;
    step: string;
    variant: string;
    enrolled: string;
    goal_met: string;
  }>(sql`
    select journey_key as journey, chosen.key as step, chosen.value as variant,
           count(*) as enrolled, count(*) filter (where outcome = 'goal-met') as goal_met
    from enrollments, jsonb_each_text(coalesce(variants, '{}'::jsonb)) as chosen
    where clinic_id = ${range.clinicId} and started_at >= ${range.from.toISOString()} and started_at < ${range.to.toISOString()}
    ${journeyFilter('journey_key', range.journey)}
    group by 1, 2, 3`);
  return rows.map((row) => ({
    journey: row.journey,
    step: row.step,
    variant: row.variant,
    enrolled: Number(row.enrolled),
    goalMet: Number(row.goal_met),
  }));
}

/** Patients who took back consent on a channel in the period (an opt-out by STOP, a form, the EHR). */
export async function optOutCounts(db: Queryable, range: Omit<ReportRange, 'journey'>) {
  const rows = await db.execute<{ channel: string; count: string }>(sql`
    select channel, count(distinct patient_id) as count
    from consents
    where clinic_id = ${range.clinicId} and granted = false
      and recorded_at >= ${range.from.toISOString()} and recorded_at < ${range.to.toISOString()}
    group by 1`);
  return rows.map((row) => ({ channel: row.channel, count: Number(row.count) }));
}
