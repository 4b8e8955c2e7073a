const STOPPED = 'done';

/**
 * Things started one after another and stopped in reverse order (the worker before Temporal, PostgreSQL
 * last). Each step runs once, even when a signal and a failure both ask for shutdown; a failing step, or
 * one still going after its time limit, does not keep the later ones from running: a stuck HTTP close
 * must not leave PostgreSQL running behind a process that gave up.
 */
export class ShutdownSteps {
  private readonly steps: { name: string; stop: () => Promise<void>; limitMs: number }[] = [];

  add(name: string, stop: () => Promise<void>, limitMs = 10_000): void {
    this.steps.push({ name, stop, limitMs });
  }

  /**
   * Runs the steps; `progress` hears how long each took. Resolves to the names of those that failed or
   * ran out of time.
   */
  async run(progress: (line: string) => void = () => {}): Promise<string[]> {
    const unclean: string[] = [];
    for (const { name, stop, limitMs } of this.steps.splice(0).reverse()) {
      const began = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        stop().then(
          () => STOPPED,
          (error: unknown) => `failed: ${error instanceof Error ? error.message : String(error)}`,
        ),
        new Promise<string>((resolve) => {
          timer = setTimeout(() => resolve(`still stopping after ${limitMs / 1000}s; going on`), limitMs);
        }),
      ]);
      clearTimeout(timer);
      if (outcome !== STOPPED) unclean.push(name);
      progress(`${name}: ${outcome} (${((Date.now() - began) / 1000).toFixed(1)}s)`);
    }
    return unclean;
  }

  /** Runs the steps as `run` does, then fails naming those that did not stop cleanly. */
  async runOrThrow(progress?: (line: string) => void): Promise<void> {
    const unclean = await this.run(progress);
    if (unclean.length > 0) throw new Error(`${unclean.join(', ')} did not stop cleanly`);
  }
}
