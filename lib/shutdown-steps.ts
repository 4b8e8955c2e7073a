/**
 * Things started one after another and stopped in reverse order (the worker before Temporal, PostgreSQL
 * last). Each step runs once, even when a signal and a failure both ask for shutdown; a failing step does
 * not keep the others from running.
 */
export class ShutdownSteps {
  private readonly steps: (() => Promise<void>)[] = [];

  add(step: () => Promise<void>): void {
    this.steps.push(step);
  }

  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) await step().catch(() => {});
  }
}
