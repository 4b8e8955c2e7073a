// What the audit hash chain costs the send path: the throughput benchmark's due sends with the chain on and
// off (audit-chain.ts), rounds alternating so that drift on a shared machine falls on both alike. Each
// send writes several audit rows (the patient read, the send), and every chained row takes one lock that
// all writers share until their transaction commits.
import type { BenchContext } from './context';
import { unchainAudit } from './audit-chain';
import { median } from './measure';
import { result, type BenchOutcome } from './results';
import { dueSends } from './throughput';

export async function audit(ctx: BenchContext): Promise<BenchOutcome> {
  const { rounds, perRound, concurrency } = ctx.scale.audit;
  const patients = await ctx.patients.create(2 * rounds * perRound);
  const rates = { chained: [] as number[], unchained: [] as number[] };
  ctx.say(`audit: ${rounds} rounds of ${perRound} sends with the hash chain on, then off`);
  for (let round = 0; round < rounds; round++) {
    const on = patients.slice(2 * round * perRound, (2 * round + 1) * perRound);
    const off = patients.slice((2 * round + 1) * perRound, (2 * round + 2) * perRound);
    rates.chained.push(await dueSends(ctx, on, concurrency, []));
    const rechain = await unchainAudit(ctx.owner);
    try {
      rates.unchained.push(await dueSends(ctx, off, concurrency, []));
    } finally {
      await rechain();
    }
    ctx.say(
      `audit round ${round + 1}: chained ${rates.chained.at(-1)!.toFixed(1)}/s, unchained ${rates.unchained.at(-1)!.toFixed(1)}/s`,
    );
  }
  const addresses = patients.map((patient) => patient.address);
  await ctx.arrivals.waitFor(addresses, 30_000);
  return {
    results: [
      result('audit', {
        value: median(rates.chained),
        unit: 'sends/s',
        baseline: median(rates.unchained),
        note: `due sends with the audit hash chain on (value) and off (baseline: same rows, no lock, no hash), median of ${rounds} alternating rounds of ${perRound}`,
      }),
    ],
    checks: [await ctx.arrivals.check('audit', addresses)],
  };
}
