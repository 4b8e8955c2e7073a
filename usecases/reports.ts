// A clinic's report over a period: what its journeys enrolled, sent, delivered and achieved, split by
// journey, channel, language and A/B variant. JSON for tools, CSV for spreadsheets.
import {
  deliveryCounts,
  enrollmentCounts,
  optOutCounts,
  variantOutcomes,
  type DeliveryCount,
  type ReportRange,
} from '../db/queries/reports';
import { appendAudit } from '../db/queries/audit';
import { withClinic } from '../db/tenant';
import type { Database } from '../db/client';

export type Tally = {
  sent: number;
  delivered: number;
  failed: number;
  suppressed: number;
  pending: number;
};

export interface Report {
  from: string;
  to: string;
  journey: string | null;
  totals: Tally & { enrolled: number; goalMet: number; optedOut: number; languageFallbacks: number };
  suppressedByReason: Record<string, number>;
  failedByReason: Record<string, number>;
  byJourney: (Tally & {
    journey: string;
    enrolled: number;
    goalMet: number;
    ended: number;
    active: number;
  })[];
  byChannel: (Tally & { channel: string })[];
  byLanguage: (Tally & { language: string })[];
  byVariant: (Tally & { journey: string; variant: string })[];
  variantOutcomes: { journey: string; step: string; variant: string; enrolled: number; goalMet: number }[];
  optedOutByChannel: Record<string, number>;
}

const emptyTally = (): Tally => ({ sent: 0, delivered: 0, failed: 0, suppressed: 0, pending: 0 });

function add(tally: Tally, row: DeliveryCount) {
  const status = row.status as keyof Tally;
  if (status in tally) tally[status] += row.count;
}

function tallyBy<K extends string>(
  rows: DeliveryCount[],
  key: (row: DeliveryCount) => string | null,
  name: K,
) {
  const groups = new Map<string, Tally>();
  for (const row of rows) {
    const value = key(row) ?? '(none)';
    const tally = groups.get(value) ?? emptyTally();
    add(tally, row);
    groups.set(value, tally);
  }
  return [...groups]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([value, tally]) => ({ [name]: value, ...tally }) as Tally & Record<K, string>);
}

export async function clinicReport(db: Database, range: ReportRange, actor: string): Promise<Report> {
  const [deliveries, enrollments, variants, optOuts] = await withClinic(db, range.clinicId, async (tx) => {
    const counted = await Promise.all([
      deliveryCounts(tx, range),
      enrollmentCounts(tx, range),
      variantOutcomes(tx, range),
      optOutCounts(tx, range),
    ]);
    await appendAudit(tx, {
      actor,
      clinicId: range.clinicId,
      action: 'report.read',
      objectType: 'report',
      objectId: `${range.from.toISOString()}..${range.to.toISOString()}${range.journey ? ` ${range.journey}` : ''}`,
      outcome: 'success',
    });
    return counted;
  });
  const totals = { ...emptyTally(), enrolled: 0, goalMet: 0, optedOut: 0, languageFallbacks: 0 };
  const suppressedByReason: Record<string, number> = {};
  const failedByReason: Record<string, number> = {};
  for (const row of deliveries) {
    add(totals, row);
    // Sent wholly in the clinic's default language or English: the patient's own had no text.
    if (row.languageFallback && row.status !== 'suppressed') totals.languageFallbacks += row.count;
    const reasons =
      row.status === 'suppressed' ? suppressedByReason : row.status === 'failed' ? failedByReason : undefined;
    if (reasons) reasons[row.reason ?? '(none)'] = (reasons[row.reason ?? '(none)'] ?? 0) + row.count;
  }
  const journeys = [
    ...new Set([
      ...deliveries.flatMap((row) => (row.journey ? [row.journey] : [])),
      ...enrollments.map((row) => row.journey),
    ]),
  ].sort();
  const byJourney = journeys.map((journey) => {
    const tally = emptyTally();
    for (const row of deliveries) if (row.journey === journey) add(tally, row);
    const of = enrollments.filter((row) => row.journey === journey);
    const count = (match: (row: (typeof of)[number]) => boolean) =>
      of.filter(match).reduce((sum, row) => sum + row.count, 0);
    return {
      journey,
      ...tally,
      enrolled: count(() => true),
      goalMet: count((row) => row.outcome === 'goal-met'),
      ended: count((row) => row.status !== 'active'),
      active: count((row) => row.status === 'active'),
    };
  });
  totals.enrolled = byJourney.reduce((sum, row) => sum + row.enrolled, 0);
  totals.goalMet = byJourney.reduce((sum, row) => sum + row.goalMet, 0);
  const optedOutByChannel = Object.fromEntries(optOuts.map((row) => [row.channel, row.count]));
  totals.optedOut = optOuts.reduce((sum, row) => sum + row.count, 0);
  return {
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    journey: range.journey ?? null,
    totals,
    suppressedByReason,
    failedByReason,
    byJourney,
    byChannel: tallyBy(deliveries, (row) => row.channel, 'channel'),
    byLanguage: tallyBy(deliveries, (row) => row.language, 'language'),
    byVariant: tallyBy(
      deliveries.filter((row) => row.variant !== null),
      (row) => `${row.journey ?? '(none)'}|${row.variant}`,
      'key',
    ).map(({ key, ...tally }) => {
      const [journey, variant] = key.split('|') as [string, string];
      return { journey, variant, ...tally };
    }),
    variantOutcomes: variants,
    optedOutByChannel,
  };
}

/** One row per figure (section, group, metric, value): opens in any spreadsheet, sums by pivot. */
export function reportCsv(report: Report): string {
  const rows: string[][] = [['section', 'group', 'metric', 'value']];
  const push = (section: string, group: string, figures: object) => {
    for (const [metric, value] of Object.entries(figures))
      if (typeof value === 'number') rows.push([section, group, metric, String(value)]);
  };
  push('totals', '', report.totals);
  push('suppressed-by-reason', '', report.suppressedByReason);
  push('failed-by-reason', '', report.failedByReason);
  for (const row of report.byJourney) push('journey', row.journey, row);
  for (const row of report.byChannel) push('channel', row.channel, row);
  for (const row of report.byLanguage) push('language', row.language, row);
  for (const row of report.byVariant) push('variant', `${row.journey}/${row.variant}`, row);
  for (const row of report.variantOutcomes)
    push('variant-outcome', `${row.journey}/${row.step}/${row.variant}`, row);
  push('opted-out-by-channel', '', report.optedOutByChannel);
  const cell = (value: string) => (/[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);
  return `${rows.map((row) => row.map(cell).join(',')).join('\r\n')}\r\n`;
}
