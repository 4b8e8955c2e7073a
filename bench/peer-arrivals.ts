// When each message reached the outside world, and how many each address got. The local peers store every
// message they accept as a file (SMS: SM<sid>.json, email: <ms>-<uuid>.eml, each written then renamed into
// place before the peer answers), so a watch on their directories sees a message the moment it exists,
// whichever process sent it. Every bench patient has addresses of its own, so per address one message is
// right, none is a lost message and two are a duplicate.
import { watch, type FSWatcher } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

const SMS_FILE = /^SM[0-9a-f]{32}\.json$/;
const EMAIL_FILE = /\.eml$/;

/** What one benchmark expected at the peers and what it found. */
export interface DeliveryCheck {
  benchmark: string;
  expected: number;
  arrived: number;
  /** Addresses that got more than one message (each extra message counts once). */
  duplicates: number;
  /** Addresses that got none. */
  lost: number;
}

export class PeerArrivals {
  /** File name → when it appeared (epoch ms). */
  private readonly seen = new Map<string, number>();
  /** Address → arrival times, one per message. */
  private readonly byAddress = new Map<string, number[]>();
  private readonly reading = new Set<Promise<void>>();
  private readonly watchers: FSWatcher[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly smsDir: string,
    private readonly emailDir: string,
  ) {}

  static async start(dirs: { sms: string; email: string }): Promise<PeerArrivals> {
    await fs.mkdir(dirs.sms, { recursive: true });
    await fs.mkdir(dirs.email, { recursive: true });
    const arrivals = new PeerArrivals(dirs.sms, dirs.email);
    for (const dir of [dirs.sms, dirs.email]) {
      arrivals.watchers.push(
        watch(dir, (_event, name) => {
          if (name) arrivals.noticed(dir, name, Date.now());
        }),
      );
    }
    return arrivals;
  }

  private noticed(dir: string, name: string, at: number): void {
    const isSms = dir === this.smsDir && SMS_FILE.test(name);
    if (!isSms && !(dir === this.emailDir && EMAIL_FILE.test(name))) return;
    // An SMS file is written again when its status changes: the first appearance is the arrival.
    if (this.seen.has(name)) return;
    this.seen.set(name, at);
    const read = readAddress(path.join(dir, name), isSms)
      .then((address) => {
        if (address === undefined) return;
        const times = this.byAddress.get(address) ?? [];
        times.push(at);
        this.byAddress.set(address, times);
        for (const wake of [...this.waiters]) wake();
      })
      .catch(() => undefined)
      .finally(() => this.reading.delete(read));
    this.reading.add(read);
  }

  /** Picks up any file the watch missed (dated by its modification time), and waits for pending reads. */
  async reconcile(): Promise<void> {
    for (const dir of [this.smsDir, this.emailDir]) {
      for (const name of await fs.readdir(dir)) {
        if (this.seen.has(name)) continue;
        const stat = await fs.stat(path.join(dir, name)).catch(() => undefined);
        if (stat) this.noticed(dir, name, stat.mtimeMs);
      }
    }
    while (this.reading.size > 0) await Promise.all([...this.reading]);
  }

  /** Arrival times of the messages to `address` (E.164, or an email address in lower case). */
  times(address: string): number[] {
    return this.byAddress.get(address) ?? [];
  }

  /** Resolves once every address has at least one message, or after `timeoutMs` (check() then says so). */
  async waitFor(addresses: string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const missing = () => addresses.filter((address) => this.times(address).length === 0).length;
    while (missing() > 0 && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(1000, Math.max(deadline - Date.now(), 1)));
        this.waiters.add(wake);
      });
    }
    await this.reconcile();
  }

  /** One message per address: anything else is a duplicate or a loss. */
  async check(benchmark: string, addresses: string[]): Promise<DeliveryCheck> {
    await this.reconcile();
    let arrived = 0;
    let duplicates = 0;
    let lost = 0;
    for (const address of addresses) {
      const count = this.times(address).length;
      arrived += count;
      if (count === 0) lost++;
      if (count > 1) duplicates += count - 1;
    }
    return { benchmark, expected: addresses.length, arrived, duplicates, lost };
  }

  stop(): void {
    for (const watcher of this.watchers) watcher.close();
  }
}

async function readAddress(file: string, isSms: boolean): Promise<string | undefined> {
  const text = await fs.readFile(file, 'utf8');
  if (isSms) return (JSON.parse(text) as { to?: string }).to;
  const headers = text.split(/\r?\n\r?\n/)[0] ?? '';
  const to = /^To:[ \t]*(.+(?:\r?\n[ \t].+)*)/im.exec(headers)?.[1];
  if (!to) return undefined;
  return (/<([^>]+)>/.exec(to)?.[1] ?? to).trim().toLowerCase();
}
