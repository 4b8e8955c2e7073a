// Finds or builds the Temporal binaries on machines that cannot download them (see DESIGN.md):
// explicit path, then PATH, then the user cache, then a build from the registries (Go module proxy,
// Maven Central), and last the SDK's own download. Builds are serialised by a lock and published by
// an atomic rename, so two processes provisioning at once never see a half-written binary.
import { spawn } from 'node:child_process';
import { constants as fsConstants, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { withDirectoryLock } from './lock';
import { TestWorkflowEnvironment, type ClientOptionsForTestEnv } from '@temporalio/testing';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const TEST_SERVER_VERSION = '1.31.0';
const SLF4J_VERSION = '2.0.17';

export type BinarySource = 'env' | 'path' | 'cache' | 'built' | 'sdk-download';

export interface ResolvedBinary {
  /** Absolute path of the executable; undefined means "let the Temporal SDK download its own". */
  path?: string;
  source: BinarySource;
}

export interface ProvisionOptions {
  cacheRoot: string;
  explicitPath?: string;
  /** Receives human-readable progress lines. */
  progress?: (line: string) => void;
}

export function resolveTemporalCli(options: ProvisionOptions): Promise<ResolvedBinary> {
  const target = path.join(options.cacheRoot, `temporal-cli-${TEMPORAL_CLI_VERSION}`, 'temporal');
  return resolveBinary(options, {
    name: 'Temporal CLI dev server',
    pathCommand: 'temporal',
    target,
    toolchain: 'go',
    build: (workDir, progress) => buildTemporalCli(workDir, progress),
  });
}

export function resolveTestServer(options: ProvisionOptions): Promise<ResolvedBinary> {
  const target = path.join(
    options.cacheRoot,
    `temporal-test-server-${TEST_SERVER_VERSION}`,
    'temporal-test-server',
  );
  return resolveBinary(options, {
    name: 'Temporal time-skipping test server',
    target,
    toolchain: 'mvn',
    build: (workDir, progress) => buildTestServer(workDir, path.dirname(target), progress),
  });
}

interface BinaryRecipe {
  name: string;
  pathCommand?: string;
  /** Where the finished executable lives; its directory is published whole by one rename. */
  target: string;
  toolchain: string;
  /** Builds into workDir (a fresh directory) and leaves the executable at workDir/<basename of target>. */
  build: (workDir: string, progress: (line: string) => void) => Promise<void>;
}

async function resolveBinary(options: ProvisionOptions, recipe: BinaryRecipe): Promise<ResolvedBinary> {
  const progress = options.progress ?? (() => {});
  if (options.explicitPath) {
    if (!(await isExecutable(options.explicitPath))) {
      throw new Error(
        `${recipe.name}: ${options.explicitPath} (from the environment) is not an executable file`,
      );
    }
    return { path: path.resolve(options.explicitPath), source: 'env' };
  }
  if (recipe.pathCommand) {
    const onPath = await findOnPath(recipe.pathCommand);
    if (onPath) return { path: onPath, source: 'path' };
  }
  if (await isExecutable(recipe.target)) return { path: recipe.target, source: 'cache' };
  if (!(await findOnPath(recipe.toolchain))) {
    progress(
      `${recipe.name}: no ${recipe.toolchain} toolchain found; the Temporal SDK will download its own`,
    );
    return { source: 'sdk-download' };
  }

  const publishedDir = path.dirname(recipe.target);
  await fs.mkdir(options.cacheRoot, { recursive: true });
  return withDirectoryLock(
    path.join(options.cacheRoot, `${path.basename(publishedDir)}.lock`),
    progress,
    async () => {
      // Another process may have finished the build while we waited for the lock.
      if (await isExecutable(recipe.target)) return { path: recipe.target, source: 'cache' };
      const workDir = await fs.mkdtemp(
        path.join(options.cacheRoot, `.build-${path.basename(publishedDir)}-`),
      );
      const started = Date.now();
      try {
        progress(`${recipe.name}: building into ${publishedDir} (first time only; takes minutes)`);
        await recipe.build(workDir, progress);
        await fs.chmod(path.join(workDir, path.basename(recipe.target)), 0o755);
        await fs.rm(publishedDir, { recursive: true, force: true });
        await fs.rename(workDir, publishedDir);
      } catch (error) {
        await fs.rm(workDir, { recursive: true, force: true });
        throw error;
      }
      progress(`${recipe.name}: built in ${((Date.now() - started) / 1000).toFixed(1)}s`);
      return { path: recipe.target, source: 'built' };
    },
  );
}

async function buildTemporalCli(workDir: string, progress: (line: string) => void): Promise<void> {
  let compiled = 0;
  // `go install -v` names each package as it is compiled: a real progress count for a multi-minute build.
  await runTool(
    'go',
    ['install', '-v', `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`],
    { cwd: workDir, env: { ...process.env, GOBIN: workDir, GOFLAGS: '-mod=mod' } },
    () => compiled++,
    (elapsed) => progress(`  go install: ${compiled} packages compiled, ${elapsed}s`),
    path.join(workDir, 'build.log'),
  );
  await fs.rm(path.join(workDir, 'build.log'), { force: true });
}

async function buildTestServer(
  workDir: string,
  publishedDir: string,
  progress: (line: string) => void,
): Promise<void> {
  await fs.writeFile(path.join(workDir, 'pom.xml'), testServerPom());
  let downloaded = 0;
  await runTool(
    'mvn',
    ['-B', 'dependency:copy-dependencies', '-DoutputDirectory=jars', '-DincludeScope=runtime'],
    { cwd: workDir, env: process.env },
    (line) => {
      if (line.includes('Downloaded from')) downloaded++;
    },
    (elapsed) => progress(`  maven: ${downloaded} artifacts downloaded, ${elapsed}s`),
    path.join(workDir, 'build.log'),
  );
  await Promise.all(
    ['pom.xml', 'build.log', 'target'].map((name) =>
      fs.rm(path.join(workDir, name), { recursive: true, force: true }),
    ),
  );
  // The wrapper names the published directory, which is where workDir ends up after the rename.
  await fs.writeFile(
    path.join(workDir, 'temporal-test-server'),
    `#!/bin/sh\nexec java -cp '${publishedDir}/jars/*' io.temporal.testserver.TestServer "$@"\n`,
  );
}

function testServerPom(): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.carebell</groupId>
  <artifactId>temporal-test-server-jars</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>io.temporal</groupId>
      <artifactId>temporal-test-server</artifactId>
      <version>${TEST_SERVER_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-nop</artifactId>
      <version>${SLF4J_VERSION}</version>
    </dependency>
  </dependencies>
</project>
`;
}

/** Runs a build tool, feeding each output line to onLine and reporting progress every 10 s. */
async function runTool(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
  onLine: (line: string) => void,
  tick: (elapsedSeconds: number) => void,
  logFile: string,
): Promise<void> {
  const started = Date.now();
  const log = createWriteStream(logFile);
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    stream.pipe(log, { end: false });
    readline.createInterface({ input: stream }).on('line', onLine);
  }
  const timer = setInterval(() => tick(Math.round((Date.now() - started) / 1000)), 10_000);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code !== 0) {
      await new Promise((resolve) => log.end(resolve));
      const output = await fs.readFile(logFile, 'utf8').catch(() => '');
      const tail = output.trim().split('\n').slice(-15).join('\n');
      throw new Error(`${command} ${args.join(' ')} exited with ${code}:\n${tail}`);
    }
  } finally {
    clearInterval(timer);
    log.end();
  }
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) return false;
    await fs.access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function findOnPath(command: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** How `@temporalio/testing` starts a server: the resolved executable, or one the SDK downloads itself. */
export function serverExecutable(
  executablePath: string | undefined,
): { type: 'existing-path'; path: string } | { type: 'cached-download' } {
  return executablePath ? { type: 'existing-path', path: executablePath } : { type: 'cached-download' };
}

/** The time-skipping test server (a 30-day timer passes in about a second), for previews and tests. */
export function startTimeSkippingServer(
  executablePath: string | undefined,
  client?: ClientOptionsForTestEnv,
): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: serverExecutable(executablePath) },
    client,
  });
}
