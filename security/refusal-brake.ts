// Brakes on refused requests: each refusal is audited, but audit rows are chained under one global lock,
// so a flood of unauthenticated requests would slow every transaction that audits. Within each window the
// first `limit` refusals are audited one by one; the rest are answered 429 without touching the database
// and counted, and the count is audited once when the window ends.

export type RefusalVerdict =
  { kind: 'audit' } | { kind: 'throttle'; /** Seconds until the window ends. */ retryAfter: number };

export class RefusalBrake {
  private windowStart = Number.NEGATIVE_INFINITY;
  private refused = 0;
  private throttled = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A refusal happened: audit it, or throttle it. Call `takeThrottled` to learn what was not audited. */
  admit(): RefusalVerdict {
    const now = this.now();
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.refused = 0;
    }
    this.refused++;
    if (this.refused <= this.limit) return { kind: 'audit' };
    this.throttled++;
    return { kind: 'throttle', retryAfter: Math.ceil((this.windowStart + this.windowMs - now) / 1000) };
  }

  /** Milliseconds until the current window ends (when the throttled count should be audited). */
  untilWindowEnds(): number {
    return Math.max(this.windowStart + this.windowMs - this.now(), 0);
  }

  /** The refusals throttled since the last call, and none from then on. */
  takeThrottled(): number {
    const count = this.throttled;
    this.throttled = 0;
    return count;
  }
}
