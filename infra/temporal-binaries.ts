// Finds or builds the Temporal binaries on machines that cannot download them (see DESIGN.md):
// explicit path, then PATH, then the user cache, then a build from the registries (Go module proxy,
// Maven Central), and last the SDK's own download. Builds are serialised by a lock and published by
// an atomic rename, so two processes provisioning at once never see a half-written binary.
// Temporal's own server (for a cluster on PostgreSQL) is built the same way, but has no SDK download.
import { execFile, spawn } from 'node:child_process';
import { constants as fsConstants, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { promisify } from 'node:util';
import { withDirectoryLock } from './lock';
import { TestWorkflowEnvironment, type ClientOptionsForTestEnv } from '@temporalio/testing';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const TEST_SERVER_VERSION = '1.31.0';
/** The same server release the dev server embeds (CLI v1.5.1), so both topologies run one server. */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
const TEMPORAL_SERVER_MODULE = 'go.temporal.io/server';
const SLF4J_VERSION = '2.0.17';

const execFileAsync = promisify(execFile);

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

/**
 * Temporal's own server and its SQL schema tool, built together by one `go install` into one cached
 * directory with the PostgreSQL schemas beside them, so either resolve builds both once.
 */
const serverBuildDir = (cacheRoot: string) =>
  path.join(cacheRoot, `temporal-server-${TEMPORAL_SERVER_VERSION}`);

export function resolveTemporalServer(options: ProvisionOptions): Promise<ResolvedBinary> {
  return resolveBinary(options, serverRecipe(options.cacheRoot, 'temporal-server', 'Temporal server'));
}

export function resolveTemporalSqlTool(options: ProvisionOptions): Promise<ResolvedBinary> {
  return resolveBinary(
    options,
    serverRecipe(options.cacheRoot, 'temporal-sql-tool', 'Temporal SQL schema tool'),
  );
}

function serverRecipe(cacheRoot: string, executable: string, name: string): BinaryRecipe {
  return {
    name,
    // The names Temporal's release archives and Docker images give them.
    pathCommand: executable,
    target: path.join(serverBuildDir(cacheRoot), executable),
    toolchain: 'go',
    noSdkDownload: true,
    build: (workDir, progress) => buildTemporalServer(workDir, progress),
  };
}

/**
 * The PostgreSQL schemas (`v12/temporal`, `v12/visibility`) of the server's release: beside the cached
 * build, or else in Go's module cache (a sql tool from the environment or PATH came without them).
 */
export async function temporalPostgresSchemaDir(cacheRoot: string): Promise<string> {
  const candidates = [path.join(serverBuildDir(cacheRoot), 'schema', 'postgresql', 'v12')];
  if (await findOnPath('go')) {
    candidates.push(path.join(await goModuleDir(), 'schema', 'postgresql', 'v12'));
  }
  for (const dir of candidates) {
    if (await fs.stat(path.join(dir, 'temporal', 'versioned')).catch(() => undefined)) return dir;
  }
  throw new Error(
    `no Temporal ${TEMPORAL_SERVER_VERSION} PostgreSQL schema found (looked in ${candidates.join(', ')}): ` +
      'resolve the Temporal server once with Go installed to build and cache it',
  );
}

interface BinaryRecipe {
  name: string;
  pathCommand?: string;
  /** Where the finished executable lives; its directory is published whole by one rename. */
  target: string;
  toolchain: string;
  /** Without the toolchain, fail rather than leave it to the SDK (which only downloads dev servers). */
  noSdkDownload?: boolean;
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
    if (recipe.noSdkDownload) {
      throw new Error(
        `${recipe.name}: not cached and no ${recipe.toolchain} toolchain to build it; install Go or ` +
          'give its path in the environment',
      );
    }
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

async function buildTemporalServer(workDir: string, progress: (line: string) => void): Promise<void> {
  let compiled = 0;
  // One install for both: they share nearly every package, and the second costs only its own link.
  await runTool(
    'go',
    [
      'install',
      '-v',
      `${TEMPORAL_SERVER_MODULE}/cmd/server@${TEMPORAL_SERVER_VERSION}`,
      `${TEMPORAL_SERVER_MODULE}/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`,
    ],
    { cwd: workDir, env: { ...process.env, GOBIN: workDir, GOFLAGS: '-mod=mod' } },
    () => compiled++,
    (elapsed) => progress(`  go install: ${compiled} packages compiled, ${elapsed}s`),
    path.join(workDir, 'build.log'),
  );
  await fs.rm(path.join(workDir, 'build.log'), { force: true });
  await fs.rename(path.join(workDir, 'server'), path.join(workDir, 'temporal-server'));
  await fs.rename(path.join(workDir, 'sql'), path.join(workDir, 'temporal-sql-tool'));
  for (const executable of ['temporal-server', 'temporal-sql-tool'])
    await fs.chmod(path.join(workDir, executable), 0o755);
  // A cached build must not depend on Go's module cache, which `go clean -modcache` empties.
  const schemaDir = path.join(workDir, 'schema', 'postgresql');
  await fs.cp(path.join(await goModuleDir(), 'schema', 'postgresql'), schemaDir, { recursive: true });
  await makeWritable(schemaDir);
}

/** Where Go unpacked the server module (the install above put it there). */
async function goModuleDir(): Promise<string> {
  const { stdout } = await execFileAsync('go', ['env', 'GOMODCACHE']);
  return path.join(stdout.trim(), `${TEMPORAL_SERVER_MODULE}@${TEMPORAL_SERVER_VERSION}`);
}

/** Go's module cache is read-only; copies of it would otherwise resist a later rebuild's `rm`. */
async function makeWritable(dir: string): Promise<void> {
  await fs.chmod(dir, 0o755);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const child = path.join(dir, entry.name);
    if (entry.isDirectory()) await makeWritable(child);
    else await fs.chmod(child, 0o644);
  }
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
