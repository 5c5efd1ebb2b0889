/**
 * What a service asked for: the level (vtr or acr_values) and the attributes (the claims
 * parameter's verified_claims, or the standard scopes profile, address, email and phone). Checked against the service's policy at /authorize, so a
 * request outside it is refused with a clear OIDC error before the citizen sees anything.
 */
import { attributeNameSchema, LevelError, type AttributeName, type Levels, type RelyingPartyPolicy, type Vector } from '@idbroker/policies';

export class RequestRefused extends Error {
  override readonly name = 'RequestRefused';
}

export interface LevelRequest {
  vtr?: string | undefined;
  acr_values?: string | undefined;
}

/** The requested vectors, or the service's default level when it asked for none. */
export function requestedVectors(levels: Levels, rp: RelyingPartyPolicy, params: LevelRequest): Vector[] {
  let vectors: Vector[];
  try {
    if (params.vtr !== undefined && params.vtr !== '') vectors = levels.parseVtr(params.vtr);
    else if (params.acr_values !== undefined && params.acr_values !== '') vectors = levels.parseAcrValues(params.acr_values);
    else vectors = [levels.parseVector(rp.default_level)];
  } catch (e) {
    if (e instanceof LevelError) throw new RequestRefused(`unsupported level: ${e.message}`);
    throw e;
  }
  const minimum = levels.parseVector(rp.minimum_level);
  for (const v of vectors) {
    if (!levels.satisfies(v, minimum)) {
      throw new RequestRefused(`the level ${levels.format(v)} is below this service's minimum level ${rp.minimum_level}`);
    }
  }
  return vectors;
}

/**
 * The level the service is told it got: the strongest of the vectors it asked for that the achieved
 * level meets, never the achieved level itself. A level only some providers reach (a passkey,
 * a higher identity confidence than asked for) would otherwise tell the service which provider
 * was used. "Strongest": not below any other requested vector the achieved level also meets;
 * between vectors that cannot be compared, the higher identity confidence, then authentication.
 * Undefined when the achieved level meets none of them.
 */
export function cappedVector(levels: Levels, achieved: Vector, requested: readonly Vector[]): Vector | undefined {
  const met = requested.filter((r) => levels.satisfies(achieved, r));
  const rank = (v: Vector) => [levels.confidenceRank(v.confidence), levels.authenticationRank(v.authentication)] as const;
  return met
    .filter((v) => !met.some((o) => o !== v && levels.satisfies(o, v) && !levels.satisfies(v, o)))
    .sort((a, b) => rank(b)[0] - rank(a)[0] || rank(b)[1] - rank(a)[1])[0];
}

/**
 * What each standard scope asks for (OpenID Connect Core 5.4). The broker releases them, as
 * everything else, verified and inside verified_claims, never as plain top-level claims.
 */
export const SCOPE_ATTRIBUTES: Readonly<Record<string, readonly AttributeName[]>> = {
  profile: ['given_name', 'family_name', 'birthdate'],
  address: ['address'],
  email: ['email'],
  phone: ['phone_number'],
};

/** Claims the broker itself puts in its ID tokens and userinfo (never personal attributes). */
export const BROKER_PLAIN_CLAIMS: ReadonlySet<string> = new Set(['sub', 'vot', 'vtm', 'txn', 'match', 'acr', 'amr', 'auth_time', 'iss', 'aud', 'exp', 'iat', 'nonce', 'azp', 'at_hash', 'c_hash', 'sid']);

/** The claims parameter, parsed (a JSON string, or already an object). */
function parseClaims(claimsParam: unknown): Record<string, Record<string, unknown> | undefined> | undefined {
  if (claimsParam === undefined || claimsParam === null || claimsParam === '') return undefined;
  if (typeof claimsParam !== 'string') return claimsParam as Record<string, Record<string, unknown> | undefined>;
  try {
    return JSON.parse(claimsParam) as Record<string, Record<string, unknown> | undefined>;
  } catch {
    throw new RequestRefused('the claims parameter is not valid JSON');
  }
}

/**
 * Attribute names asked for explicitly, in the claims parameter (id_token or userinfo
 * verified_claims). Personal attributes are released only inside verified_claims: a plain claim
 * asked for as essential (`{"id_token":{"email":{"essential":true}}}`) is refused; asked for
 * voluntarily, it is simply not released.
 */
export function claimsParameterAttributes(claimsParam: unknown): AttributeName[] {
  const parsed = parseClaims(claimsParam);
  if (!parsed) return [];
  const names = new Set<AttributeName>();
  const unknown: string[] = [];
  const plainEssential: string[] = [];
  for (const container of ['id_token', 'userinfo'] as const) {
    const requests = parsed?.[container];
    if (requests === undefined || requests === null || typeof requests !== 'object') continue;
    for (const [name, request] of Object.entries(requests)) {
      if (name === 'verified_claims' || BROKER_PLAIN_CLAIMS.has(name)) continue;
      if ((request as { essential?: unknown } | null)?.essential === true) plainEssential.push(name);
    }
    const vc = requests.verified_claims;
    if (vc === undefined || vc === null) continue;
    const list = Array.isArray(vc) ? vc : [vc];
    for (const entry of list) {
      const claims = (entry as { claims?: unknown } | null)?.claims;
      if (claims === undefined || claims === null) continue;
      if (typeof claims !== 'object' || Array.isArray(claims)) throw new RequestRefused('verified_claims.claims must be an object');
      for (const name of Object.keys(claims)) {
        const ok = attributeNameSchema.safeParse(name);
        if (ok.success) names.add(ok.data);
        else unknown.push(name);
      }
    }
  }
  if (plainEssential.length) {
    throw new RequestRefused(`not released as a plain claim: ${[...new Set(plainEssential)].join(', ')} (ask for attributes inside verified_claims)`);
  }
  if (unknown.length) throw new RequestRefused(`unknown attribute${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`);
  return [...names];
}

/**
 * Attribute names asked for by the standard scopes. Scope-requested claims are voluntary
 * (OpenID Connect Core 5.4): with `permitted`, only those the service may receive.
 */
export function scopeAttributes(scope: string | undefined, permitted?: readonly AttributeName[]): AttributeName[] {
  const names = new Set<AttributeName>();
  for (const s of (scope ?? '').split(' ')) for (const name of SCOPE_ATTRIBUTES[s] ?? []) names.add(name);
  return [...names].filter((n) => !permitted || permitted.includes(n));
}

/**
 * Every attribute asked for: the claims parameter's (explicit: refused when not permitted, by
 * assertPermitted) and the scopes' (voluntary: with `permitted`, only those the service may receive).
 */
export function requestedAttributes(claimsParam: unknown, scope?: string, permitted?: readonly AttributeName[]): AttributeName[] {
  return [...new Set([...scopeAttributes(scope, permitted), ...claimsParameterAttributes(claimsParam)])];
}

/** Refuse attributes the service's policy does not permit. */
export function assertPermitted(rp: RelyingPartyPolicy, attributes: readonly AttributeName[]): void {
  const refused = attributes.filter((a) => !rp.permitted_attributes.includes(a));
  if (refused.length) {
    throw new RequestRefused(`this service may not receive: ${refused.join(', ')}`);
  }
}
