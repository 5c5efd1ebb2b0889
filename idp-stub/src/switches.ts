/**
 * Switches: make a stub IdP misbehave on purpose, for tests, demos and service teams (a
 * simulator in the manner of GOV.UK One Login's). Global switches apply to every sign-in;
 * `identities` overrides them for one demo identity (by username).
 */
import type { Gpg45Scores } from '@idbroker/policies';

export type FailMode =
  | 'none'
  | 'deny'
  | 'error'
  | 'down'
  | 'lower-level'
  | 'fraud'
  | 'wrong-iss'
  | 'wrong-aud'
  | 'wrong-nonce'
  | 'no-nonce'
  | 'expired'
  | 'future'
  | 'wrong-signature';

export const failModes: readonly FailMode[] = [
  'none',
  'deny',
  'error',
  'down',
  'lower-level',
  'fraud',
  'wrong-iss',
  'wrong-aud',
  'wrong-nonce',
  'no-nonce',
  'expired',
  'future',
  'wrong-signature',
];

/** Fail modes that change the ID token after it is made (at the token endpoint). */
export const tokenFailModes: readonly FailMode[] = ['wrong-iss', 'wrong-aud', 'wrong-nonce', 'no-nonce', 'expired', 'future', 'wrong-signature'];

/** What one sign-in does: the global switches with the person's own settings over them. */
export interface Behaviour {
  /**
   * none: behave. deny: the authorization ends with error=access_denied. error: it ends with
   * error=server_error and the token endpoint answers 500. down: every endpoint but /admin
   * answers 503 (global only). lower-level: the confidence claimed is one step lower.
   * fraud: the ID token carries ci: ["fraud.suspected"]. wrong-iss, wrong-aud, wrong-nonce,
   * no-nonce, expired (exp an hour ago), future (iat and nbf an hour ahead), wrong-signature
   * (signed by a key not in the JWKS): the ID token is made wrong that way.
   */
  fail: FailMode;
  /** Claim this level (a vector such as "Cl.Cm.P2") whatever the evidence. */
  level?: string;
  /** Return these GPG 45 scores instead of the person's; null: return no scores. */
  scores?: Gpg45Scores | null;
  /**
   * Return codes (as GOV.UK One Login's `returnCode` claim): with any, the authorization ends with
   * error=access_denied and `error_description` "return_code: A B" (the broker reads them with the
   * federation's vocabulary, policies/broker.yaml return_codes: docs/adr/0006-return-codes.md).
   */
  returnCodes?: string[];
}

export interface Switches extends Behaviour {
  /** Delay every response (except /admin) by this many milliseconds ("slow"). */
  delayMs: number;
  /** Per-identity settings, by username: they override the global ones for that person. */
  identities?: Record<string, Partial<Behaviour>>;
}

const VECTOR = /^C[a-z](\.C[a-z])*(\.P\d)?$/;
const CODE = /^[A-Za-z0-9_-]{1,16}$/;
const score = (v: unknown, where: string): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 4) throw new Error(`${where} must be a whole number from 0 to 4`);
  return v;
};

export function parseScores(input: unknown, where = 'scores'): Gpg45Scores | null {
  if (input === null) return null;
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw new Error(`${where} must be an object { evidence: [[strength, validity]], activity, fraud, verification } or null`);
  const o = input as Record<string, unknown>;
  if (!Array.isArray(o.evidence) || o.evidence.length > 8) throw new Error(`${where}.evidence must be a list of [strength, validity] pairs`);
  const evidence = o.evidence.map((e, i) => {
    if (!Array.isArray(e) || e.length !== 2) throw new Error(`${where}.evidence.${i} must be [strength, validity]`);
    return { strength: score(e[0], `${where}.evidence.${i}.0`), validity: score(e[1], `${where}.evidence.${i}.1`) };
  });
  return { evidence, activity: score(o.activity ?? 0, `${where}.activity`), fraud: score(o.fraud ?? 0, `${where}.fraud`), verification: score(o.verification ?? 0, `${where}.verification`) };
}

function parseBehaviour(input: Record<string, unknown>, out: Partial<Behaviour>, where: string): void {
  if (input.fail !== undefined) {
    const fail = input.fail === '' || input.fail === null ? 'none' : input.fail;
    if (typeof fail !== 'string' || !failModes.includes(fail as FailMode)) throw new Error(`${where}fail must be one of ${failModes.join(', ')}`);
    out.fail = fail as FailMode;
  }
  if (input.level !== undefined) {
    if (input.level === null || input.level === '') delete out.level;
    else if (typeof input.level !== 'string' || !VECTOR.test(input.level)) throw new Error(`${where}level must be a vector such as Cl.Cm.P2`);
    else out.level = input.level;
  }
  if (input.scores !== undefined) {
    if (input.scores === 'person') delete out.scores;
    else out.scores = parseScores(input.scores, `${where}scores`);
  }
  if (input.returnCodes !== undefined) {
    const codes = input.returnCodes;
    if (codes === null || (Array.isArray(codes) && codes.length === 0)) delete out.returnCodes;
    else if (!Array.isArray(codes) || codes.length > 8 || !codes.every((c) => typeof c === 'string' && CODE.test(c)))
      throw new Error(`${where}returnCodes must be a list of up to 8 codes (letters, digits, _ or -)`);
    else out.returnCodes = codes as string[];
  }
}

/**
 * Merge `input` into `base`. `level: null`, `scores: "person"`, `returnCodes: []` go back to
 * normal; `identities: { name: null }` clears one person's settings; `identities: null` all.
 */
export function parseSwitches(input: Record<string, unknown>, base: Switches): Switches {
  const out: Switches = { ...base, ...(base.identities ? { identities: { ...base.identities } } : {}) };
  parseBehaviour(input, out, '');
  if (input.delayMs !== undefined) {
    const delay = Number(input.delayMs);
    if (!Number.isInteger(delay) || delay < 0 || delay > 120_000) throw new Error('delayMs must be a whole number from 0 to 120000');
    out.delayMs = delay;
  }
  if (input.identities !== undefined) {
    if (input.identities === null) delete out.identities;
    else if (typeof input.identities !== 'object' || Array.isArray(input.identities)) throw new Error('identities must map usernames to settings');
    else {
      const all = { ...out.identities };
      for (const [name, settings] of Object.entries(input.identities as Record<string, unknown>)) {
        if (settings === null) {
          delete all[name];
          continue;
        }
        if (typeof settings !== 'object' || Array.isArray(settings)) throw new Error(`identities.${name} must be settings { fail, level, scores, returnCodes }`);
        const unknown = Object.keys(settings).filter((k) => !['fail', 'level', 'scores', 'returnCodes'].includes(k));
        if (unknown.length) throw new Error(`identities.${name}: unknown setting ${unknown.join(', ')}`);
        const mine: Partial<Behaviour> = { ...all[name] };
        parseBehaviour(settings as Record<string, unknown>, mine, `identities.${name}.`);
        if (mine.fail === 'down') throw new Error(`identities.${name}.fail: down is for the whole stub`);
        all[name] = mine;
      }
      out.identities = all;
      if (Object.keys(all).length === 0) delete out.identities;
    }
  }
  return out;
}

/** The behaviour for one person's sign-in. */
export function behaviourFor(switches: Switches, username: string): Behaviour {
  const { delayMs: _d, identities, ...global } = switches;
  return { ...global, ...identities?.[username] };
}

/** Switches from IDP_STUB_FAIL and IDP_STUB_DELAY_MS. */
export function switchesFromEnv(env: Record<string, string | undefined> = process.env): Switches {
  return parseSwitches({ fail: env.IDP_STUB_FAIL, delayMs: env.IDP_STUB_DELAY_MS }, { fail: 'none', delayMs: 0 });
}
