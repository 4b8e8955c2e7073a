// The processes under test: carebell's worker and API as they run in production (processes/worker.ts,
// processes/api.ts) and the baselines' worker (bench/raw-worker.ts), each a child of the bench so its
// resident memory can be read and it can be restarted with an empty workflow cache.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface ChildSpec {
  /** For logs and errors: `worker`, `api`, `raw-worker`. */
  name: string;
  /** The entry point, relative to the checkout. */
  script: string;
  env: Record<string, string | undefined>;
  /** A line the process prints (pino's msg) once it serves. */
  readyLine: string;
  logDir: string;
}

export interface RunningChild {
  readonly name: string;
  /** The current process's id (it changes on restart). */
  pid: () => number;
  /** Resident set size (VmRSS) in bytes, from /proc. */
  rss: () => Promise<number>;
  /** Stops it gracefully and starts it again: an empty workflow cache, a fresh heap. */
  restart: () => Promise<void>;
  stop: () => Promise<void>;
}

/** Starts `spec` and resolves once it printed its ready line. */
export async function startChild(spec: ChildSpec): Promise<RunningChild> {
  await fs.mkdir(spec.logDir, { recursive: true });
  let starts = 0;
  let child = await launch(spec, ++starts);
  return {
    name: spec.name,
    pid: () => child.pid!,
    rss: () => residentBytes(child.pid!),
    restart: async () => {
      await stopChild(child);
      child = await launch(spec, ++starts);
    },
    stop: () => stopChild(child),
  };
}

async function launch(spec: ChildSpec, start: number): Promise<ChildProcess> {
  const log = createWriteStream(path.join(spec.logDir, `${spec.name}-${start}.log`));
  const child = spawn(process.execPath, ['--import', 'tsx', spec.script], {
    cwd: root,
    env: spec.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  child.once('exit', () => log.end());
  await new Promise<void>((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    // tsx, the workflow bundle and the schedules take a while on two busy cores.
    const timer = setTimeout(
      () => reject(new Error(`${spec.name} did not start within 120s; see ${spec.logDir}`)),
      120_000,
    );
    lines.on('line', (line) => {
      if (line.includes(`"${spec.readyLine}"`)) {
        clearTimeout(timer);
        // Closing readline pauses stdout, which would stop the log there and, once the pipe is full,
        // block the child on its next write: the log alone reads it from here on.
        lines.close();
        child.stdout.resume();
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${spec.name} exited while starting (${signal ?? code}); see ${spec.logDir}`));
    });
  });
  return child;
}

/** SIGTERM, then SIGKILL if it has not exited within the worker's own shutdown grace and then some. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

export async function residentBytes(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kib) * 1024;
}
