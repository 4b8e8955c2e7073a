// The time-skipping test server is a JVM, and the Temporal SDK gives it 5 s to start listening: with test
// files running side by side on two cores, a cold JVM start (1.5-2 s alone, most of it loading classes)
// can miss that. A class-data-sharing archive of the classes it loads at start cuts the start to about
// 0.5 s and its CPU with it. test/run.ts makes the archive once per run, in the run's data dir, and hands
// the test files a wrapper that uses it; the provisioned wrapper itself stays as it is.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { freePort } from '../../infra/free-port';
import { listening } from './ports';

// The wrapper infra/temporal-binaries.ts writes: exec java -cp '<jars>/*' io.temporal.testserver.TestServer "$@"
// A test's server lives seconds to a minute: the quick compiler alone and the serial collector spend
// less CPU on it than the JIT's optimising tier and G1's threads would, on two cores shared by every file.
const JVM_OPTIONS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'];
const WRAPPER = /^exec java (-cp '[^']+') io\.temporal\.testserver\.TestServer "\$@"$/m;

/** A wrapper of `testServerPath` that starts the JVM from a shared archive, or `testServerPath` itself. */
export async function withClassDataSharing(
  testServerPath: string | undefined,
  dir: string,
  say: (line: string) => void,
): Promise<string | undefined> {
  if (!testServerPath) return testServerPath;
  const classPath = (await fs.readFile(testServerPath, 'utf8').catch(() => '')).match(WRAPPER)?.[1];
  if (!classPath) return testServerPath;
  const started = Date.now();
  const archive = path.join(dir, 'temporal-test-server.jsa');
  try {
    await dumpArchive(classPath, archive);
  } catch (error) {
    say(`time-skipping server: no class-data archive (${String(error)}), starting it as provisioned`);
    return testServerPath;
  }
  const wrapper = path.join(dir, 'temporal-test-server');
  await fs.writeFile(
    wrapper,
    `#!/bin/sh\nexec java ${JVM_OPTIONS.join(' ')} -XX:SharedArchiveFile='${archive}' -Xshare:auto ${classPath} io.temporal.testserver.TestServer "$@"\n`,
    { mode: 0o755 },
  );
  say(`time-skipping server: class-data archive made in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return wrapper;
}

/** Starts the server once with -XX:ArchiveClassesAtExit, waits until it listens, and stops it. */
async function dumpArchive(classPath: string, archive: string): Promise<void> {
  const port = await freePort();
  const cp = classPath.replace(/^-cp '(.*)'$/, '$1');
  const child = spawn(
    'java',
    [
      ...JVM_OPTIONS,
      `-XX:ArchiveClassesAtExit=${archive}`,
      '-cp',
      cp,
      'io.temporal.testserver.TestServer',
      String(port),
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(-1));
  });
  try {
    const deadline = Date.now() + 60_000;
    while (!(await listening(port))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error('the server did not start');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  await fs.access(archive);
}
