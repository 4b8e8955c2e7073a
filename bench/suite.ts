// `npm test`'s wall time: lint, typecheck and every test against real services, as CI runs it. Long and
// heavy on two cores, so it runs only with --full or when named, after the other benchmarks' services
// are gone; its output goes to a log file beside the results.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { result, type BenchOutcome } from './results';

const root = fileURLToPath(new URL('..', import.meta.url));

export async function suite(options: {
  logFile: string;
  say: (line: string) => void;
}): Promise<BenchOutcome> {
  await fs.mkdir(path.dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile);
  options.say(`suite: npm test (its output: ${options.logFile})`);
  const began = Date.now();
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('npm', ['test'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.once('error', reject);
    child.once('exit', (exitCode) => resolve(exitCode));
  });
  log.end();
  const seconds = (Date.now() - began) / 1000;
  const timed = result('suite', {
    value: seconds,
    unit: 's',
    target: { of: 'value', op: '<', bound: 300 },
    note: code === 0 ? 'npm test passed' : `npm test FAILED (exit ${code}); see ${options.logFile}`,
  });
  // A suite that fails has not met its target, however quickly it failed.
  return { results: [code === 0 ? timed : { ...timed, met: false }], checks: [] };
}
