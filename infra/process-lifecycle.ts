import { ConfigError } from '../config';

/** Runs a process entry point: configuration errors and failures end it with a clear reason and exit 1. */
export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    const message = error instanceof ConfigError || error instanceof Error ? error.message : String(error);
    process.stderr.write(`carebell: ${message}\n`);
    process.exit(1);
  });
}

/**
 * Calls `stop` once on SIGINT or SIGTERM; a later signal exits at once. One Ctrl-C reaches this process
 * more than once (from the terminal, and relayed by npm and tsx), so repeats within a second are ignored.
 */
export function onShutdownSignal(stop: (signal: NodeJS.Signals) => Promise<void>): void {
  let stoppingSince: number | undefined;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stoppingSince !== undefined) {
        if (Date.now() - stoppingSince < 1000) return;
        process.stderr.write('carebell: second signal, exiting now\n');
        process.exit(130);
      }
      stoppingSince = Date.now();
      // Children may already be gone (a terminal's Ctrl-C reaches them too), leaving nothing that keeps
      // the event loop alive while shutdown awaits; this timer keeps it alive and bounds the wait (each
      // step of it has a bound of its own: this one is the last resort).
      const deadline = setTimeout(() => {
        process.stderr.write('carebell: shutdown took longer than 60s, exiting\n');
        process.exit(1);
      }, 60_000);
      stop(signal).then(
        () => {
          clearTimeout(deadline);
          process.exit(0);
        },
        (error: unknown) => {
          process.stderr.write(`carebell: shutdown failed: ${String(error)}\n`);
          process.exit(1);
        },
      );
    });
  }
}
