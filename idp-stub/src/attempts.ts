/**
 * Limits on wrong passwords and wrong one-time codes (issue 13 item 11), as a real IdP has:
 * per account (so a new sign-in does not start over) and per sign-in interaction (so one
 * interaction cannot guess across many accounts). Counters live in memory, like the rest of
 * the stub's state, and are forgotten after the lock ends.
 */

export interface AttemptLimits {
  /** Wrong passwords for one account before it is locked. Default 5. */
  passwordsPerAccount: number;
  /** Wrong passwords in one sign-in interaction (any accounts) before it is refused. Default 10. */
  passwordsPerInteraction: number;
  /** Wrong one-time codes for one account before codes stop working. Default 5. */
  codesPerAccount: number;
  /** How long a lock lasts, and the window failures are counted in. Default 15 minutes. */
  lockMs: number;
}

export const defaultAttemptLimits: AttemptLimits = {
  passwordsPerAccount: 5,
  passwordsPerInteraction: 10,
  codesPerAccount: 5,
  lockMs: 15 * 60_000,
};

interface Counter {
  failures: number;
  since: number;
  lockedUntil?: number;
}

/** Counts failures per key within a window and locks the key at the limit. */
export class AttemptCounter {
  private readonly counters = new Map<string, Counter>();

  constructor(
    private readonly limit: number,
    private readonly lockMs: number,
    private readonly now: () => number,
  ) {}

  /** True while the key is locked. */
  locked(key: string): boolean {
    const c = this.current(key);
    return c?.lockedUntil !== undefined && c.lockedUntil > this.now();
  }

  /** Count one failure; true when this failure locks the key (or it was locked already). */
  fail(key: string): boolean {
    const t = this.now();
    const c = this.current(key) ?? { failures: 0, since: t };
    c.failures += 1;
    if (c.failures >= this.limit) c.lockedUntil = c.lockedUntil ?? t + this.lockMs;
    this.counters.set(key, c);
    return c.lockedUntil !== undefined;
  }

  /** A success clears the key's failures (not a lock in force). */
  succeed(key: string): void {
    if (!this.locked(key)) this.counters.delete(key);
  }

  /** Forget counters whose window and lock have passed. */
  prune(): void {
    for (const key of [...this.counters.keys()]) this.current(key);
  }

  private current(key: string): Counter | undefined {
    const c = this.counters.get(key);
    if (!c) return undefined;
    const t = this.now();
    const lockOver = c.lockedUntil !== undefined && c.lockedUntil <= t;
    const windowOver = c.lockedUntil === undefined && t - c.since > this.lockMs;
    if (lockOver || windowOver) {
      this.counters.delete(key);
      return undefined;
    }
    return c;
  }
}

export interface Attempts {
  limits: AttemptLimits;
  passwords: AttemptCounter;
  codes: AttemptCounter;
}

export function attemptsFor(limits: Partial<AttemptLimits> | undefined, now: () => Date): Attempts {
  const l = { ...defaultAttemptLimits, ...limits };
  const clock = () => now().getTime();
  return {
    limits: l,
    passwords: new AttemptCounter(l.passwordsPerAccount, l.lockMs, clock),
    codes: new AttemptCounter(l.codesPerAccount, l.lockMs, clock),
  };
}
