// Journeys asleep by the thousand, as a clinic's are most of the time. The worker (its own process, fresh)
// must stay flat in resident memory as sleepers pile up, since its workflow cache bounds what it holds;
// the Temporal server's database file grows per sleeper. Then a minute's worth of reminders wakes at once
// (their timers all end on the same minute, as every refill reminder of a day ends at 10:00) on a worker
// restarted with an empty cache, so each wake replays its history first, as a journey asleep for weeks
// does; timed from that minute to each message at the peer, against raw workflows that sleep to a moment
// and post the same words, on a baseline worker restarted alike. The replay cost of one cache miss is read
// from queries: the first to a sleeper replays its history, a second one finds it cached.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import { DateTime } from 'luxon';
import { DEFAULT_WORKFLOW_CACHE_SIZE } from '../config';
import { currentStepQuery } from '../domain/journey';
import { builtInJourneys } from '../journeys/built-in';
import { enroll } from '../usecases/enroll';
import type { BenchContext } from './context';
import { asleepSince, latestSettled } from './histories';
import { wakeAtJourney } from './journeys';
import { inParallel, median, percentile, sleep } from './measure';
import type { BenchPatient } from './patients';
import type { RunningChild } from './processes';
import { result, type BenchOutcome } from './results';
import { RAW_TASK_QUEUE } from './workflows/raw';

const MiB = 1024 * 1024;

/**
 * Resident memory once the worker has let go of what the last burst of work used, and the reading taken
 * at once. The worker gives a burst's memory back only after some idle seconds (30–50 s here, in steps:
 * V8's memory reducer; with it off nothing came back), so a reading at once shows the burst, not what the
 * journeys hold. Reads every 5 s until 20 s in a row were level (within 1%), after at least 45 s and at
 * most 2 min.
 */
async function settledRss(child: RunningChild): Promise<{ atOnce: number; settled: number }> {
  const began = Date.now();
  const readings: number[] = [];
  for (;;) {
    readings.push(await child.rss());
    const elapsed = Date.now() - began;
    const last = readings.slice(-5);
    const level = last.length === 5 && Math.max(...last) <= Math.min(...last) * 1.01;
    if ((level && elapsed >= 45_000) || elapsed >= 120_000) break;
    await sleep(5000);
  }
  return { atOnce: readings[0]!, settled: readings.at(-1)! };
}

/** The database file and its write-ahead log: what the dev server keeps on disk. */
async function databaseBytes(file: string | undefined): Promise<number> {
  if (!file) return Number.NaN;
  let bytes = 0;
  for (const part of [file, `${file}-wal`]) bytes += (await fs.stat(part).catch(() => undefined))?.size ?? 0;
  return bytes;
}

/** Enrolls each patient in `journey` with 50 callers, as a sweep or a stream of events would. */
async function enrollAll(
  ctx: BenchContext,
  patients: BenchPatient[],
  request: (patient: BenchPatient) => Omit<Parameters<typeof enroll>[1], 'clinicId' | 'patientId'>,
): Promise<string[]> {
  const deps = ctx.enrollmentDeps();
  const ids: string[] = [];
  await inParallel(patients, 50, async (patient) => {
    const enrolled = await enroll(deps, {
      clinicId: ctx.clinicId,
      patientId: patient.id,
      ...request(patient),
    });
    ids.push(enrolled.workflowId);
  });
  return ids;
}

/**
 * Raw workflows that sleep to one moment and then post, one per patient, on a baseline worker restarted
 * with an empty cache after they started; resolves to each one's latency from that moment to the peer.
 */
async function rawWake(ctx: BenchContext, patients: BenchPatient[]): Promise<number[]> {
  // Far enough ahead to start them all and restart the worker before it comes.
  const at = Date.now() + 25_000 + patients.length * 20;
  ctx.say(`sleepers: ${patients.length} raw sleepers due in ${((at - Date.now()) / 1000).toFixed(0)} s`);
  const ids: string[] = [];
  await inParallel(patients, 50, async (patient) => {
    const workflowId = `raw-sleeper-${randomUUID()}`;
    ids.push(workflowId);
    await ctx.rawClient.workflow.start('rawSleepThenSendWorkflow', {
      taskQueue: RAW_TASK_QUEUE,
      workflowId,
      args: [at, ctx.rawMessage(patient)],
    });
  });
  await ctx.rawWorker.restart();
  if (Date.now() > at) ctx.say('sleepers: the baseline worker restarted after its sleepers were due');
  const addresses = patients.map((patient) => patient.address);
  await ctx.arrivals.waitFor(addresses, at - Date.now() + 180_000);
  // Ended, not only posted: stopping the server under workflows still completing makes it log errors.
  await inParallel(ids, 50, (workflowId) => ctx.rawClient.workflow.getHandle(workflowId).result());
  return addresses.flatMap((address) =>
    ctx.arrivals
      .times(address)
      .slice(0, 1)
      .map((arrived) => arrived - at),
  );
}

/** Waits until the given journeys (a sample of the last enrolled) sleep: the worker's backlog is done. */
const allAsleep = (ctx: BenchContext, ids: string[]) =>
  latestSettled(ctx.client, ids, asleepSince, 15 * 60_000);

export async function sleepers(ctx: BenchContext): Promise<BenchOutcome> {
  const { checkpoints, wake, replaySample } = ctx.scale.sleepers;
  const cacheSize = Number(process.env.CAREBELL_WORKFLOW_CACHE_SIZE ?? DEFAULT_WORKFLOW_CACHE_SIZE);
  const refill = builtInJourneys().find((journey) => journey.key === 'refill')!;
  const inZone = () => DateTime.now().setZone(ctx.zone);
  // Due in 60 days: the first wait (a week before the supply runs out) lasts weeks.
  const refillDue = inZone().plus({ days: 60 }).toISODate()!;

  ctx.say('sleepers: restarting the worker, so its memory is measured from a fresh start');
  await ctx.worker.restart();
  const idle = (await settledRss(ctx.worker)).settled;
  const dbBefore = await databaseBytes(ctx.services.temporalDbFile);
  const rss: { sleepers: number; bytes: number; atOnce: number }[] = [];
  const sleeperIds: string[] = [];
  let enrollRate = 0;
  for (const checkpoint of checkpoints) {
    const patients = await ctx.patients.create(checkpoint - sleeperIds.length);
    const began = Date.now();
    const ids = await enrollAll(ctx, patients, () => ({
      journey: refill,
      anchorDate: refillDue,
      facts: { daysSupply: '60', refillsRemaining: '2' },
      occurrence: randomUUID(),
    }));
    await allAsleep(ctx, ids.slice(-50));
    enrollRate = ids.length / ((Date.now() - began) / 1000);
    sleeperIds.push(...ids);
    const { settled, atOnce } = await settledRss(ctx.worker);
    rss.push({ sleepers: sleeperIds.length, bytes: settled, atOnce });
    ctx.say(
      `sleepers: ${sleeperIds.length} asleep (${enrollRate.toFixed(0)} enrolled/s), worker ${(atOnce / MiB).toFixed(0)} MiB at once, ${(settled / MiB).toFixed(0)} MiB settled`,
    );
  }
  const dbGrowth = ((await databaseBytes(ctx.services.temporalDbFile)) - dbBefore) / sleeperIds.length;
  // What one sleeper's history holds, for comparison with what the database spends on it.
  const histories = { events: 0, bytes: 0, sample: sleeperIds.slice(0, 20) };
  for (const workflowId of histories.sample) {
    const description = await ctx.client.workflow.getHandle(workflowId).describe();
    histories.events += description.historyLength / histories.sample.length;
    histories.bytes += (description.historySize ?? Number.NaN) / histories.sample.length;
  }

  // carebell's wake: the next whole minute that leaves time to enroll, restart and measure replays.
  const wakers = await ctx.patients.create(wake);
  const lead = (wake / Math.max(enrollRate, 1)) * 1.5 + 30;
  const wakeAt = DateTime.fromMillis(Date.now() + lead * 1000, { zone: ctx.zone })
    .startOf('minute')
    .plus({ minutes: 1 });
  ctx.say(`sleepers: ${wake} journeys due at ${wakeAt.toFormat('HH:mm')} ${ctx.zone}`);
  const journey = wakeAtJourney(wakeAt.toFormat('HH:mm'));
  const wakerIds = await enrollAll(ctx, wakers, () => ({
    journey,
    anchorDate: wakeAt.toISODate()!,
    occurrence: randomUUID(),
  }));
  await allAsleep(ctx, wakerIds.slice(-50));
  await ctx.worker.restart();

  // One cache miss: the first query replays a sleeper's history, the second finds it in the cache.
  const sample = sleeperIds.filter((_, index) => index % Math.ceil(sleeperIds.length / replaySample) === 0);
  const queryTimes = async () => {
    const times: number[] = [];
    for (const workflowId of sample) {
      const began = performance.now();
      await ctx.client.workflow.getHandle(workflowId).query(currentStepQuery);
      times.push(performance.now() - began);
    }
    return times;
  };
  const [cold, warm] = [await queryTimes(), await queryTimes()];
  const late = Date.now() > wakeAt.toMillis() - 1000;

  // The baseline's wake fits in the wait for carebell's minute when there is time; otherwise it follows.
  const rawPatients = await ctx.patients.create(wake);
  const rawTakes = 40_000 + wake * 60;
  const rawBefore = wakeAt.toMillis() - Date.now() > rawTakes;
  let rawLatencies = rawBefore ? await rawWake(ctx, rawPatients) : [];

  const wakeAddresses = wakers.map((patient) => patient.address);
  await ctx.arrivals.waitFor(wakeAddresses, wakeAt.toMillis() - Date.now() + 300_000);
  if (!rawBefore) rawLatencies = await rawWake(ctx, rawPatients);
  const rawAddresses = rawPatients.map((patient) => patient.address);
  const latencies = wakeAddresses.flatMap((address) =>
    ctx.arrivals
      .times(address)
      .slice(0, 1)
      .map((at) => at - wakeAt.toMillis()),
  );

  const first = rss[0]!;
  const last = rss.at(-1)!;
  // Per cached journey: the first checkpoint that fills the cache (or the largest), over a fresh worker.
  const full = rss.find((entry) => entry.sleepers >= cacheSize) ?? last;
  const perJourney = (full.bytes - idle) / Math.min(full.sleepers, cacheSize);
  const wakeNote = (p: number) =>
    `ms from the minute ${wake} journeys were due to each message at the peer, p${p}, worker restarted first (every wake replays its history)${late ? '; the worker was still being measured when they woke' : ''}; baseline: ${wake} raw workflows sleeping to one moment, baseline worker restarted`;
  return {
    results: [
      result('sleepers-rss', {
        value: last.bytes / MiB,
        unit: 'MiB',
        baseline: first.bytes / MiB,
        target: { of: 'ratio', op: '<=', bound: 1.2 },
        note: `worker resident memory, settled (level for 20 s, after 45 s to 2 min idle), with ${last.sleepers} journeys asleep (baseline: with ${first.sleepers}); ${rss.map((entry) => `${entry.sleepers}: ${(entry.bytes / MiB).toFixed(0)} MiB`).join(', ')}; at once after each checkpoint's enrollments: ${rss.map((entry) => `${(entry.atOnce / MiB).toFixed(0)}`).join(', ')} MiB; fresh worker ${(idle / MiB).toFixed(0)} MiB; workflow cache ${cacheSize}`,
      }),
      result('sleepers-rss-per-journey', {
        value: perJourney / 1024,
        unit: 'KiB',
        note: `(resident memory with ${full.sleepers} asleep − fresh worker) / ${Math.min(full.sleepers, cacheSize)} cached journeys`,
      }),
      result('sleepers-db-growth', {
        value: dbGrowth / 1024,
        unit: 'KiB/journey',
        note: `growth of the dev server's temporal.db and its WAL over ${sleeperIds.length} sleeping refill journeys; each history holds ${histories.events.toFixed(0)} events, ${(histories.bytes / 1024).toFixed(1)} KiB`,
      }),
      result('sleepers-replay', {
        value: median(cold),
        unit: 'ms',
        baseline: median(warm),
        note: `a query to a sleeper not in the cache (replays its history) vs the same query once cached, median of ${sample.length}; the difference is one cache miss's replay`,
      }),
      result('sleepers-wake-p50', {
        value: percentile(latencies, 50),
        unit: 'ms',
        baseline: percentile(rawLatencies, 50),
        note: wakeNote(50),
      }),
      result('sleepers-wake-p99', {
        value: percentile(latencies, 99),
        unit: 'ms',
        baseline: percentile(rawLatencies, 99),
        note: wakeNote(99),
      }),
    ],
    checks: [
      await ctx.arrivals.check('sleepers (woken)', wakeAddresses),
      await ctx.arrivals.check('sleepers (raw baseline)', rawAddresses),
    ],
  };
}
