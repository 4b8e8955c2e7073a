// What a benchmark reports: each figure beside its baseline from the same run, their ratio, and the
// target it is held to; the table people read and the JSON scripts (and bench/results/) keep.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DeliveryCheck } from './peer-arrivals';

export interface Target {
  /** What the bound applies to: the ratio to the baseline, or the figure itself. */
  of: 'ratio' | 'value';
  op: '>=' | '<=' | '<';
  bound: number;
}

export interface BenchResult {
  name: string;
  value: number | null;
  unit: string;
  baseline: number | null;
  ratio: number | null;
  target: string | null;
  met: boolean | null;
  /** What was measured, at what scale, or why it was skipped. */
  note?: string;
}

export interface BenchOutcome {
  results: BenchResult[];
  /** Messages counted at the peers: any duplicate or loss fails the run. */
  checks: DeliveryCheck[];
}

const SYMBOL: Record<Target['op'], string> = { '>=': '≥', '<=': '≤', '<': '<' };

const round = (value: number) => Number(value.toPrecision(4));

/** A figure, its baseline and target, with the ratio and the verdict worked out. */
export function result(
  name: string,
  figure: { value: number; unit: string; baseline?: number; target?: Target; note?: string },
): BenchResult {
  const { value, baseline, target } = figure;
  const ratio = baseline === undefined || baseline === 0 ? null : value / baseline;
  const judged = target === undefined ? null : target.of === 'ratio' ? ratio : value;
  const met =
    target === undefined || judged === null || !Number.isFinite(judged)
      ? null
      : target.op === '>='
        ? judged >= target.bound
        : target.op === '<='
          ? judged <= target.bound
          : judged < target.bound;
  return {
    name,
    value: Number.isFinite(value) ? round(value) : null,
    unit: figure.unit,
    baseline: baseline === undefined || !Number.isFinite(baseline) ? null : round(baseline),
    ratio: ratio === null || !Number.isFinite(ratio) ? null : Number(ratio.toFixed(2)),
    target: target ? `${target.of} ${SYMBOL[target.op]} ${target.bound}` : null,
    met,
    ...(figure.note ? { note: figure.note } : {}),
  };
}

export function skipped(name: string, unit: string, note: string, target?: Target): BenchResult {
  return {
    name,
    value: null,
    unit,
    baseline: null,
    ratio: null,
    target: target ? `${target.of} ${SYMBOL[target.op]} ${target.bound}` : null,
    met: null,
    note,
  };
}

export interface Machine {
  nproc: number;
  cpu: string;
  memoryGiB: number;
  node: string;
  platform: string;
  /** 1-minute load average when the run began: others share these cores. */
  loadAverage: number;
}

export function describeMachine(): Machine {
  return {
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Number((os.totalmem() / 1024 ** 3).toFixed(1)),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAverage: Number(os.loadavg()[0]!.toFixed(2)),
  };
}

export interface Report {
  machine: Machine;
  scale: 'reduced' | 'full';
  /** What the benchmarks ran against (bench/endpoints.ts); absent when only the suite ran. */
  services?: string;
  startedAt: string;
  wallSeconds: number;
  results: BenchResult[];
  checks: DeliveryCheck[];
}

const format = (value: number | null) =>
  value === null ? '–' : Math.abs(value) >= 100 ? value.toFixed(0) : String(value);

export function table(report: Report): string {
  const { machine } = report;
  const header = ['benchmark', 'value', 'unit', 'baseline', 'ratio', 'target', 'met'];
  const rows = report.results.map((entry) => [
    entry.name,
    format(entry.value),
    entry.unit,
    format(entry.baseline),
    entry.ratio === null ? '–' : entry.ratio.toFixed(2),
    entry.target ?? '–',
    entry.met === null ? '–' : entry.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) =>
        column === 0 || column === 2 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!),
      )
      .join('  ');
  const notes = report.results.filter((entry) => entry.note).map((entry) => `  ${entry.name}: ${entry.note}`);
  const checks = report.checks.map(
    (check) =>
      `  ${check.benchmark}: ${check.arrived} of ${check.expected} messages at the peers, ${check.duplicates} duplicate, ${check.lost} lost`,
  );
  return [
    `carebell bench (${report.scale} scale), ${machine.nproc} × ${machine.cpu}, ${machine.memoryGiB} GiB, node ${machine.node}, load ${machine.loadAverage} at start, ${report.wallSeconds.toFixed(0)} s`,
    ...(report.services ? [`against: ${report.services}`] : []),
    '',
    line(header),
    line(widths.map((width) => '-'.repeat(width))),
    ...rows.map(line),
    '',
    'notes:',
    ...notes,
    '',
    'messages counted at the peers (one per address is right):',
    ...(checks.length > 0 ? checks : ['  (no benchmark sent messages)']),
    '',
  ].join('\n');
}

/** bench/results/<timestamp>.json: the same JSON `--json` prints. */
export async function saveReport(report: Report, dir: string): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, `${report.startedAt.replace(/[:.]/g, '-')}.json`);
  await fs.writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
