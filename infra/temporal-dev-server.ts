import { spawn, type ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { freePort } from './free-port';
import { serverExecutable, type ResolvedBinary } from './temporal-binaries';

export interface RunningTemporal {
  address: string;
  uiUrl?: string;
  stop: () => Promise<void>;
}

/**
 * The Temporal CLI dev server: a real Temporal server in one process. With a database file it persists
 * workflows across restarts; WAL pragmas make it several times faster and still crash-safe.
 */
export async function startTemporalDevServer(options: {
  binary: ResolvedBinary;
  port?: number;
  uiPort?: number;
  dbFilename?: string;
  namespace: string;
  /** Shown to the web UI, which then asks it to decode payloads for an operator. */
  codecEndpoint?: string;
}): Promise<RunningTemporal> {
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: serverExecutable(options.binary.path),
      ip: '127.0.0.1',
      port: options.port,
      ui: options.uiPort !== undefined,
      uiPort: options.uiPort,
      namespace: options.namespace,
      dbFilename: options.dbFilename,
      log: { format: 'json', level: 'error' },
      extraArgs: [
        '--sqlite-pragma',
        'journal_mode=wal',
        '--sqlite-pragma',
        'synchronous=normal',
        ...(options.codecEndpoint ? ['--ui-codec-endpoint', options.codecEndpoint] : []),
      ],
    },
  });
  return {
    address: env.address,
    uiUrl: options.uiPort !== undefined ? `http://127.0.0.1:${options.uiPort}` : undefined,
    stop: () => env.teardown(),
  };
}

export interface RestartableTemporal extends RunningTemporal {
  /** For fault tests: ends the server at once (SIGKILL by default), as a crash would. */
  kill: (signal?: NodeJS.Signals) => Promise<void>;
  /** Starts it again on the same database file and port, after `kill`. */
  restart: () => Promise<void>;
}

/**
 * The dev server as a child process of this one, persisting to `dbFilename` on a fixed port, so that it
 * can be killed and started again where it was (the SDK's own launcher hides the process). Fault tests only.
 */
export async function startRestartableTemporalDevServer(options: {
  binary: ResolvedBinary;
  dbFilename: string;
  namespace: string;
  port?: number;
}): Promise<RestartableTemporal> {
  if (!options.binary.path) throw new Error('a restartable dev server needs a resolved Temporal CLI');
  const binary = options.binary.path;
  const port = options.port ?? (await freePort());
  const address = `127.0.0.1:${port}`;
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--namespace',
    options.namespace,
    '--db-filename',
    options.dbFilename,
    '--headless',
    '--log-format',
    'json',
    '--log-level',
    'error',
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=normal',
    // As the SDK's own launcher sets them.
    '--dynamic-config-value',
    'frontend.enableServerVersionCheck=false',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecution=true',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
  ];
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const started = spawn(binary, args, { stdio: 'ignore' });
    child = started;
    const exited = new Promise<never>((_, reject) =>
      started.once('exit', (code, signal) =>
        reject(new Error(`the Temporal dev server exited (${signal ?? code}) while starting`)),
      ),
    );
    exited.catch(() => {});
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ready = await Promise.race([serving(address, options.namespace), exited]);
      if (ready) return;
      if (Date.now() > deadline) throw new Error(`the Temporal dev server did not serve ${address} in 60s`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  async function kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill(signal);
    await exited;
  }

  await start();
  return {
    address,
    kill,
    restart: start,
    stop: () => kill('SIGTERM'),
  };
}

async function serving(address: string, namespace: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: 1000 });
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => {});
  }
}
