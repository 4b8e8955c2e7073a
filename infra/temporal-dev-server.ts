import { TestWorkflowEnvironment } from '@temporalio/testing';
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
