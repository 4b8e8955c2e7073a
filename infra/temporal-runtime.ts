import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import type { Logger } from './logger';

let installed = false;

/** Sends the Temporal SDK's own logs (bundler output, worker state) through pino, warnings and up only. */
export function installTemporalRuntime(log: Logger): void {
  if (installed) return;
  installed = true;
  const temporalLog = log.child({ component: 'temporal' });
  Runtime.install({
    // Our processes own their shutdown order (worker, then servers); the SDK must not exit on its own.
    shutdownSignals: [],
    // Core (Rust) writes its own lines to stderr; errors only. (Forwarding them into pino would keep a
    // polling timer alive and stop short-lived processes from exiting.)
    telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } },
    logger: new DefaultLogger('WARN', (entry: LogEntry) => {
      const level = entry.level === 'ERROR' ? 'error' : 'warn';
      temporalLog[level](entry.meta ?? {}, entry.message);
    }),
  });
}
