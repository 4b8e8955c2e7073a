// Where the CPU goes: the bench and every process under it (the Temporal server, PostgreSQL, carebell's
// worker and API, the baselines' worker), read from /proc before and after a stretch of work. On two
// shared cores a rate moves from run to run with whatever else runs; the CPU a unit of work costs
// moves much less, and it says which process to make cheaper.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export type Role = 'worker' | 'api' | 'raw-worker' | 'temporal' | 'postgres' | 'bench' | 'other';

// Linux reports process times in USER_HZ ticks, 100 a second on every architecture it runs on.
const MS_PER_TICK = 10;

interface ProcessTimes {
  parent: number;
  ticks: number;
}

async function readTimes(pid: number): Promise<ProcessTimes | undefined> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // The command name may hold spaces and parentheses: the fields that follow start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { parent: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
}

function roleOf(pid: number, argv: string[]): Role {
  if (pid === process.pid) return 'bench';
  const program = argv[0] ?? '';
  const name = path.basename(program);
  if (name === 'node') {
    // A node process is known by its script, the last argument.
    const script = argv.at(-1) ?? '';
    if (script.endsWith('processes/worker.ts')) return 'worker';
    if (script.endsWith('processes/api.ts')) return 'api';
    if (script.endsWith('bench/raw-worker.ts')) return 'raw-worker';
    return 'other';
  }
  if (name === 'temporal' || name === 'temporal-server') return 'temporal';
  // A backend names itself `postgres: user database …`.
  if (name === 'postgres' || program.startsWith('postgres:')) return 'postgres';
  return 'other';
}

/** CPU milliseconds each role has used so far: this process and all its descendants, alive now. */
export async function cpuByRole(): Promise<Map<Role, number>> {
  const pids = (await fs.readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const times = new Map<number, ProcessTimes>();
  await Promise.all(
    pids.map(async (pid) => {
      const read = await readTimes(pid);
      if (read) times.set(pid, read);
    }),
  );
  const descends = (pid: number): boolean => {
    for (let at = pid, hops = 0; at > 1 && hops < 32; hops++) {
      if (at === process.pid) return true;
      at = times.get(at)?.parent ?? 0;
    }
    return false;
  };
  const used = new Map<Role, number>();
  await Promise.all(
    [...times].map(async ([pid, { ticks }]) => {
      if (!descends(pid)) return;
      const commandLine = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      const role = roleOf(pid, commandLine.split('\0').filter(Boolean));
      used.set(role, (used.get(role) ?? 0) + ticks * MS_PER_TICK);
    }),
  );
  return used;
}

/** CPU used by role over the stretches measured with `during`, and the wall time they took. */
export class CpuMeter {
  private readonly used = new Map<Role, number>();
  private wallMs = 0;

  async during<T>(work: () => Promise<T>): Promise<T> {
    const before = await cpuByRole();
    const began = Date.now();
    const outcome = await work();
    this.wallMs += Date.now() - began;
    for (const [role, ms] of await cpuByRole()) {
      // A process that started during the stretch counts from zero; one that ended is lost (none should).
      this.used.set(role, (this.used.get(role) ?? 0) + Math.max(ms - (before.get(role) ?? 0), 0));
    }
    return outcome;
  }

  total(): number {
    return [...this.used.values()].reduce((sum, ms) => sum + ms, 0);
  }

  /** e.g. `worker 20.1, temporal 11.7, … ms (cores 92% busy)`, each per unit of work. */
  describe(units: number): string {
    const parts = [...this.used]
      .filter(([, ms]) => ms / units >= 0.05)
      .sort((a, b) => b[1] - a[1])
      .map(([role, ms]) => `${role} ${(ms / units).toFixed(1)}`);
    const busy = this.wallMs > 0 ? this.total() / (this.wallMs * os.availableParallelism()) : 0;
    return `${parts.join(', ')} ms (cores ${(busy * 100).toFixed(0)}% busy)`;
  }
}
