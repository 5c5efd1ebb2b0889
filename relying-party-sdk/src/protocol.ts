/**
 * The matching wire format, defined once (the broker imports it from here):
 * the broker POSTs a `match-request+jwt` signed with its key; the service answers with a
 * `match-response+jwt` signed with its own. See docs/architecture.md, "Matching".
 */

/** JOSE `typ` of the broker's matching request. */
export const MATCH_REQUEST_TYP = 'match-request+jwt';
/** JOSE `typ` of the service's matching answer. */
export const MATCH_RESPONSE_TYP = 'match-response+jwt';
/** Content type of both bodies. */
export const MATCH_CONTENT_TYPE = 'application/jwt';
/** The only signature algorithm either side accepts. */
export const MATCH_ALG = 'ES256';

/** What the broker asks. */
export type MatchMode = 'match' | 'create';

/** The service's answer. */
export const MATCH_RESULTS = ['match', 'no-match', 'need-attribute', 'created'] as const;
export type MatchResult = (typeof MATCH_RESULTS)[number];

/** Extra details the broker may collect from the citizen for a second attempt. */
export const EXTRA_ATTRIBUTES = ['ni_number'] as const;
export type ExtraAttribute = (typeof EXTRA_ATTRIBUTES)[number];

export interface VerifiedClaims {
  verification: { trust_framework: string; assurance_level?: string; [k: string]: unknown };
  claims: Record<string, unknown>;
}

/** Claims of the broker's matching request. */
export interface MatchRequestClaims {
  iss: string;
  aud: string;
  iat: number;
  exp: number;
  jti: string;
  /** The journey reference. */
  txn: string;
  /** The pairwise subject for this service. */
  sub: string;
  /** The level of assurance reached, e.g. "Cl.Cm.P2". */
  vot: string;
  verified_claims: VerifiedClaims;
  mode: MatchMode;
  /** 1 for the first attempt, 2 after the citizen gave an extra detail, ... */
  attempt: number;
  extra_attributes?: Partial<Record<ExtraAttribute, string>>;
}

/** Claims of the service's answer. */
export interface MatchResponseClaims {
  iss: string;
  aud: string;
  iat: number;
  exp: number;
  jti: string;
  txn: string;
  in_response_to: string;
  result: MatchResult;
  /** The service's own account reference (with match and created). */
  account_ref?: string;
  /** The extra detail the service needs (with need-attribute). */
  attribute?: ExtraAttribute;
}

/** Why a journey failed, as the broker tells the service (`error_reason`). */
export const ERROR_REASONS = ['cancelled', 'no_match', 'level_not_met', 'provider_failed', 'fraud_flagged', 'timed_out', 'matching_failed', 'no_provider'] as const;
export type ErrorReason = (typeof ERROR_REASONS)[number];

/** Check a request's claims beyond the signature: the shape the service can rely on. Returns a problem or undefined. */
export function checkMatchRequestClaims(c: Record<string, unknown>): string | undefined {
  if (typeof c.txn !== 'string' || c.txn.length === 0) return 'txn missing';
  if (typeof c.sub !== 'string' || c.sub.length === 0) return 'sub missing';
  if (typeof c.vot !== 'string') return 'vot missing';
  if (c.mode !== 'match' && c.mode !== 'create') return 'mode must be match or create';
  if (typeof c.attempt !== 'number' || !Number.isInteger(c.attempt) || c.attempt < 1) return 'attempt must be a positive integer';
  const vc = c.verified_claims as VerifiedClaims | undefined;
  if (!vc || typeof vc !== 'object' || typeof vc.claims !== 'object' || vc.claims === null || typeof vc.verification !== 'object') return 'verified_claims missing';
  if (c.extra_attributes !== undefined) {
    if (typeof c.extra_attributes !== 'object' || c.extra_attributes === null) return 'extra_attributes must be an object';
    for (const [k, v] of Object.entries(c.extra_attributes)) {
      if (!(EXTRA_ATTRIBUTES as readonly string[]).includes(k) || typeof v !== 'string') return `unknown extra attribute ${k}`;
    }
  }
  return undefined;
}

/** Check an answer's claims beyond the signature. Returns a problem or undefined. */
export function checkMatchResponseClaims(c: Record<string, unknown>): string | undefined {
  if (!(MATCH_RESULTS as readonly string[]).includes(String(c.result))) return 'unknown result';
  if ((c.result === 'match' || c.result === 'created') && (typeof c.account_ref !== 'string' || c.account_ref.length === 0 || c.account_ref.length > 128)) {
    return `${String(c.result)} without a valid account_ref`;
  }
  if (c.result === 'need-attribute' && !(EXTRA_ATTRIBUTES as readonly string[]).includes(String(c.attribute))) return 'need-attribute without a known attribute';
  if (typeof c.in_response_to !== 'string') return 'in_response_to missing';
  if (typeof c.txn !== 'string') return 'txn missing';
  return undefined;
}
