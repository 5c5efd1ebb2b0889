/** Failure switches: make a stub IdP misbehave on purpose (for tests and demos). */

export type FailMode = 'none' | 'deny' | 'error' | 'down' | 'lower-level' | 'fraud';
export const failModes: readonly FailMode[] = ['none', 'deny', 'error', 'down', 'lower-level', 'fraud'];

export interface Switches {
  /**
   * none: behave. deny: every authorization ends with error=access_denied. error: the
   * authorization ends with error=server_error and the token endpoint answers 500. down: every
   * endpoint but /admin answers 503. lower-level: the confidence reached is one step lower.
   * fraud: the ID token carries ci: ["fraud.suspected"].
   */
  fail: FailMode;
  /** Delay every response (except /admin) by this many milliseconds ("slow"). */
  delayMs: number;
}

export function parseSwitches(input: { fail?: unknown; delayMs?: unknown }, base: Switches): Switches {
  const out = { ...base };
  if (input.fail !== undefined) {
    const fail = input.fail === '' || input.fail === null ? 'none' : input.fail;
    if (typeof fail !== 'string' || !failModes.includes(fail as FailMode)) {
      throw new Error(`fail must be one of ${failModes.join(', ')}`);
    }
    out.fail = fail as FailMode;
  }
  if (input.delayMs !== undefined) {
    const delay = Number(input.delayMs);
    if (!Number.isInteger(delay) || delay < 0 || delay > 120_000) throw new Error('delayMs must be a whole number from 0 to 120000');
    out.delayMs = delay;
  }
  return out;
}

/** Switches from IDP_STUB_FAIL and IDP_STUB_DELAY_MS. */
export function switchesFromEnv(env: Record<string, string | undefined> = process.env): Switches {
  return parseSwitches({ fail: env.IDP_STUB_FAIL, delayMs: env.IDP_STUB_DELAY_MS }, { fail: 'none', delayMs: 0 });
}
