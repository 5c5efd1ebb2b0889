/** What a request asks for, what sign-in it needs, and what level was reached. */
import { evidenceWithScores, type Gpg45Scores, type IdentityProviderPolicy, type Levels, type Vector } from '@idbroker/policies';
import type { DemoIdentity } from './identities.js';

export type Authentication = 'Cl' | 'Cl.Cm' | 'Cl.Cm.Cp';

/** The requested vectors from `vtr` (JSON array) or else `acr_values`. Throws LevelError on bad input. */
export function requestedVectors(levels: Levels, params: { vtr?: unknown; acr_values?: unknown }): Vector[] {
  if (typeof params.vtr === 'string' && params.vtr !== '') return levels.parseVtr(params.vtr);
  if (typeof params.acr_values === 'string' && params.acr_values !== '') return levels.parseAcrValues(params.acr_values);
  return [];
}

/**
 * The vector the stub works towards: the first requested one within the IdP's certification,
 * else the first requested one. With no request: Cl.P1.
 */
export function targetVector(levels: Levels, policy: IdentityProviderPolicy, requested: readonly Vector[]): Vector {
  const certified = { authentication: policy.certified.authentication, confidence: policy.certified.confidence };
  const within = requested.find((v) => levels.satisfies(certified, v));
  return within ?? requested[0] ?? { authentication: 'Cl', confidence: 'P1' };
}

/** The sign-in the target needs, capped at what the IdP is certified to do. */
export function authenticationNeeded(levels: Levels, policy: IdentityProviderPolicy, target: Vector): Authentication {
  const rank = Math.min(levels.authenticationRank(target.authentication), levels.authenticationRank(policy.certified.authentication));
  const needs = levels.authentication[Math.max(0, rank)]?.id ?? 'Cl';
  if (needs.includes('Cp')) return 'Cl.Cm.Cp';
  if (needs.includes('Cm')) return 'Cl.Cm';
  return 'Cl';
}

/**
 * The level reached: the authentication performed, and confidence = min(requested, the person's
 * reachable confidence, the IdP's certified confidence), one step lower with `lower`, and never
 * above what the performed authentication allows (levels.yaml rules).
 */
export function achievedVector(
  levels: Levels,
  policy: IdentityProviderPolicy,
  target: Vector,
  identity: DemoIdentity,
  performed: Authentication,
  lower: boolean,
): Vector {
  let rank = Math.min(
    levels.confidenceRank(target.confidence),
    levels.confidenceRank(identity.confidence),
    levels.confidenceRank(policy.certified.confidence),
  );
  if (lower) rank -= 1;
  rank = Math.max(0, rank);
  let vector: Vector = { authentication: performed, confidence: levels.confidence[rank]!.id };
  while (rank > 0 && levels.ruleBroken(vector)) {
    rank -= 1;
    vector = { authentication: performed, confidence: levels.confidence[rank]!.id };
  }
  return vector;
}

/** OIDC for Identity Assurance assurance_level for a confidence id. */
export function assuranceLevel(levels: Levels, confidence: string): string {
  const gpg45 = levels.confidence[levels.confidenceRank(confidence)]?.gpg45 ?? 'none';
  return gpg45 === 'very-high' ? 'very_high' : gpg45;
}

const evidenceObjects: Record<string, Record<string, unknown>> = {
  passport: { type: 'document', check_details: [{ check_method: 'vpip' }], document_details: { type: 'passport' } },
  driving_licence: { type: 'document', check_details: [{ check_method: 'vpip' }], document_details: { type: 'driving_permit' } },
  vouch: { type: 'vouch', attestation: { type: 'written_attestation' } },
};

/**
 * The OIDC4IDA evidence for a person, with the GPG 45 scores on it (strengthScore and
 * validityScore per piece, activityHistoryScore, identityFraudScore and verificationScore on the
 * first; further score items as electronic records). No scores when `scores` is null/undefined.
 */
export function evidenceFor(identity: DemoIdentity, scores?: Gpg45Scores | null): Record<string, unknown>[] {
  const items: Record<string, unknown>[] = identity.evidence.map((e) => ({ ...(evidenceObjects[e] ?? { type: e }) }));
  if (!scores) return items;
  evidenceWithScores(scores).forEach((scored, i) => {
    if (items[i]) Object.assign(items[i]!, scored);
    else items.push({ type: 'electronic_record', check_details: [{ check_method: 'data' }], ...scored });
  });
  return items;
}

/** The attribute names requested under `verified_claims.claims` (in the id_token or userinfo part of the claims parameter). */
export function requestedAttributes(claimsRequest: unknown): string[] {
  if (!claimsRequest || typeof claimsRequest !== 'object') return [];
  const vc = (claimsRequest as Record<string, unknown>).verified_claims;
  const list = Array.isArray(vc) ? vc : [vc];
  const names = new Set<string>();
  for (const entry of list) {
    if (!entry || typeof entry !== 'object') continue;
    const claims = (entry as Record<string, unknown>).claims;
    if (!claims || typeof claims !== 'object' || Array.isArray(claims)) continue;
    for (const name of Object.keys(claims)) names.add(name);
  }
  return [...names];
}

/** The attributes the stub can release, by name. */
export function attributeValues(identity: DemoIdentity): Record<string, unknown> {
  return {
    given_name: identity.given_name,
    family_name: identity.family_name,
    birthdate: identity.birthdate,
    address: { ...identity.address },
    phone_number: identity.phone,
  };
}

/** verified_claims with only the requested attributes (and only those the person has). */
export function verifiedClaims(
  levels: Levels,
  identity: DemoIdentity,
  confidence: string,
  requested: readonly string[],
  scores?: Gpg45Scores | null,
): Record<string, unknown> {
  const values = attributeValues(identity);
  const claims: Record<string, unknown> = {};
  for (const name of requested) {
    if (Object.hasOwn(values, name)) claims[name] = values[name];
  }
  return {
    verification: {
      trust_framework: 'uk_diatf',
      assurance_level: assuranceLevel(levels, confidence),
      evidence: evidenceFor(identity, scores),
    },
    claims,
  };
}
