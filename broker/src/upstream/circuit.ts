/**
 * A circuit breaker per identity provider: `failuresToOpen` consecutive failures open it for
 * `openForMs`; then it is half-open until one probe decides (success closes it, failure opens
 * it again at once). Time comes from the injected clock.
 */
export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitOptions {
  failuresToOpen: number;
  openForMs: number;
  now: () => Date;
}

export class Circuit {
  private failures = 0;
  private openedAt: number | undefined;

  constructor(private readonly options: CircuitOptions) {}

  get state(): CircuitState {
    if (this.openedAt === undefined) return 'closed';
    return this.options.now().getTime() - this.openedAt < this.options.openForMs ? 'open' : 'half-open';
  }

  /** Whether citizens may be sent there now (only when closed). */
  get available(): boolean {
    return this.state === 'closed';
  }

  /** Whether a probe (health check or real request) may be tried now. */
  get mayProbe(): boolean {
    return this.state !== 'open';
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  success(): void {
    this.failures = 0;
    this.openedAt = undefined;
  }

  /** Record a failure; returns true when this failure opened (or re-opened) the circuit. */
  failure(): boolean {
    this.failures += 1;
    const state = this.state;
    if (state === 'half-open' || (state === 'closed' && this.failures >= this.options.failuresToOpen)) {
      this.openedAt = this.options.now().getTime();
      return true;
    }
    return false;
  }
}
