// How load is offered and figures are read: closed loops (N callers, each starting the next unit when its
// last one ends) for rates, open loops (a fixed arrival rate) for latencies, and percentiles.

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(ms, 0)));

/** Runs `total` units with `concurrency` callers; resolves to units per second. */
export async function closedLoop(
  total: number,
  concurrency: number,
  unit: (index: number) => Promise<void>,
): Promise<number> {
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (next < total) await unit(next++);
    }),
  );
  return total / ((Date.now() - started) / 1000);
}

/**
 * Starts `total` units at `perSecond`, whether or not earlier ones have finished (an EHR does not wait for
 * the last message to go out before sending the next event). Resolves when every unit has.
 */
export async function openLoop(
  total: number,
  perSecond: number,
  unit: (index: number) => Promise<void>,
): Promise<void> {
  const started = Date.now();
  const running: Promise<void>[] = [];
  for (let index = 0; index < total; index++) {
    await sleep(started + (index * 1000) / perSecond - Date.now());
    running.push(unit(index));
  }
  await Promise.all(running);
}

/** Runs `work` over `items` with at most `concurrency` at once. */
export async function inParallel<T>(
  items: T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index]!, index);
      }
    }),
  );
}

/** The p-th percentile (0-100) by nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(Math.max(rank - 1, 0), sorted.length - 1)]!;
}

export const median = (values: number[]) => percentile(values, 50);
