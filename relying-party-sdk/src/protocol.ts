/**
 * The wire formats between the broker and a service, defined once. The broker imports
 * them from `@idbroker/relying-party-sdk/protocol`; the SDK's matching handler and client
 * use the same definitions. See docs/architecture.md ("Broker -> service", "Matching").
 *
 * Matching: the broker POSTs a `match-request+jwt` signed with its key (ES256, `kid` from
 * its JWKS); the service answers 200 with a `match-response+jwt` signed with its own key.
 *
 * @packageDocumentation
 */

/** JOSE header `typ` of the broker's matching request. */
export const MATCH_REQUEST_TYP = 'match-request+jwt';
/** JOSE header `typ` of the service's matching answer. */
export const MATCH_RESPONSE_TYP = 'match-response+jwt';
/** `Content-Type` of both matching bodies (a compact JWS). */
export const MATCH_CONTENT_TYPE = 'application/jwt';
/** The only signature algorithm either side signs with or accepts. */
export const MATCH_ALG = 'ES256';
/** Lifetime of a matching request or answer, in seconds (`exp = iat + 60`). */
export const MATCH_TOKEN_TTL_SECONDS = 60;
/** The trust framework named in `verified_claims.verification.trust_framework`. */
export const TRUST_FRAMEWORK = 'uk_diatf';

/** What the broker asks the service to do: find the person, or create an account. */
export const MATCH_MODES = ['match', 'create'] as const;
/** What the broker asks the service to do: find the person, or create an account. */
export type MatchMode = (typeof MATCH_MODES)[number];

/** The service's possible answers (`result` of a match response). */
export const MATCH_RESULTS = ['match', 'no-match', 'need-attribute', 'created'] as const;
/** The service's answer: `match` and `created` carry `account_ref`, `need-attribute` carries `attribute`. */
export type MatchResult = (typeof MATCH_RESULTS)[number];

/** Extra details the broker can collect from the citizen for another matching attempt. */
export const EXTRA_ATTRIBUTES = ['ni_number'] as const;
/** An extra detail the service may ask for with `need-attribute`. */
export type ExtraAttribute = (typeof EXTRA_ATTRIBUTES)[number];

/** OpenID Connect for Identity Assurance `verified_claims`, as the broker sends them. */
export interface VerifiedClaims {
  /** `trust_framework` is {@link TRUST_FRAMEWORK}; `assurance_level` the level reached. Never names the IdP. */
  verification: { trust_framework: string; assurance_level?: string; [k: string]: unknown };
  /** The consented attributes only (given_name, family_name, birthdate, address, ...). */
  claims: Record<string, unknown>;
}

/** Claims of the broker's matching request (`typ: match-request+jwt`). */
export interface MatchRequestClaims {
  /** The broker's issuer. */
  iss: string;
  /** The service's client_id. */
  aud: string;
  iat: number;
  /** `iat` + {@link MATCH_TOKEN_TTL_SECONDS}. */
  exp: number;
  /** Unique per request; the answer echoes it as `in_response_to`. */
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
  /** Extra details the citizen gave (only after the service asked with `need-attribute`). */
  extra_attributes?: Partial<Record<ExtraAttribute, string>>;
}

/** Claims of the service's matching answer (`typ: match-response+jwt`). */
export interface MatchResponseClaims {
  /** The service's client_id. */
  iss: string;
  /** The broker's issuer. */
  aud: string;
  iat: number;
  exp: number;
  jti: string;
  /** The request's `txn`, echoed. */
  txn: string;
  /** The request's `jti`. */
  in_response_to: string;
  result: MatchResult;
  /** The service's own account reference (with `match` and `created`), at most 128 characters. */
  account_ref?: string;
  /** The extra detail the service needs (with `need-attribute`). */
  attribute?: ExtraAttribute;
}

/** The `match` claim of the ID token the broker gives the service (when it has a matching URL). */
export interface IdTokenMatchClaim {
  result: 'matched' | 'created';
  account_ref: string;
}

/** OAuth `error` values the broker uses in its error redirect to the service. */
export const BROKER_ERRORS = ['access_denied', 'temporarily_unavailable'] as const;
/** An OAuth `error` value from the broker's error redirect. */
export type BrokerOAuthError = (typeof BROKER_ERRORS)[number];

/** Why a journey failed, as the broker tells the service (`error_reason` in the error redirect). */
export const ERROR_REASONS = ['cancelled', 'no_match', 'level_not_met', 'provider_failed', 'fraud_flagged', 'timed_out', 'matching_failed', 'no_provider'] as const;
/** Why a journey failed (`error_reason`). */
export type ErrorReason = (typeof ERROR_REASONS)[number];

/** The extra parameters of the broker's error redirect, besides `error`, `error_description`, `state` and `iss`. */
export const ERROR_REDIRECT_PARAMS = { reason: 'error_reason', journeyReference: 'txn', caseReference: 'case_ref' } as const;

/**
 * A service that matches people itself (no matching URL) can open a support case for a journey
 * reference (`txn`) it was given, so the citizen has one place to go. The service POSTs a JWT
 * (`typ` {@link CASE_REQUEST_TYP}, ES256, signed with its own key from its policy's JWKS) to the
 * broker's {@link CASE_REQUEST_PATH}; the broker answers `201` with {@link CaseResponseBody}.
 */
export const CASE_REQUEST_TYP = 'case-request+jwt';
/** Where the broker takes case requests (also in discovery as `support_case_endpoint`). */
export const CASE_REQUEST_PATH = '/support/service-cases';
/** How long a case request may live, in seconds (the broker refuses older ones). */
export const CASE_REQUEST_TTL_SECONDS = 300;
/** Why the service opens a case: it could not find the person, its own matching failed, or something else. */
export const CASE_REASONS = ['no_match', 'matching_failed', 'other'] as const;
/** Why the service opens a case. */
export type CaseReason = (typeof CASE_REASONS)[number];

/** The claims of a case request: the registered claims (iss = client_id, aud = the broker's issuer, iat, exp, jti), and codes only: no personal data. */
export interface CaseRequestClaims {
  iss: string;
  aud: string;
  iat: number;
  exp: number;
  jti: string;
  /** The journey reference the broker gave the service (`txn` in the ID token or error redirect). */
  txn: string;
  reason: CaseReason;
  /** The language to show the citizen the case status in. Default `en`. */
  locale?: 'en' | 'cy';
}

/** The broker's answer to a case request. The same journey gives the same case, however often asked. */
export interface CaseResponseBody {
  case_ref: string;
  /** Where the citizen can look the case up. */
  status_url: string;
}

/** True when `value` is one of {@link CASE_REASONS}. */
export function isCaseReason(value: unknown): value is CaseReason {
  return typeof value === 'string' && (CASE_REASONS as readonly string[]).includes(value);
}

/** True when `value` is one of {@link ERROR_REASONS}. */
export function isErrorReason(value: unknown): value is ErrorReason {
  return typeof value === 'string' && (ERROR_REASONS as readonly string[]).includes(value);
}

/** True when `value` is one of {@link MATCH_RESULTS}. */
export function isMatchResult(value: unknown): value is MatchResult {
  return typeof value === 'string' && (MATCH_RESULTS as readonly string[]).includes(value);
}

/** True when `value` is one of {@link EXTRA_ATTRIBUTES}. */
export function isExtraAttribute(value: unknown): value is ExtraAttribute {
  return typeof value === 'string' && (EXTRA_ATTRIBUTES as readonly string[]).includes(value);
}

const nonEmpty = (v: unknown, max = 1024): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Check a matching request's claims beyond the signature and the registered claims
 * (iss, aud, iat, exp, which the JWT verification checks): the shape a service relies on.
 * @returns a short description of the first problem, or `undefined` when the claims are usable.
 */
export function checkMatchRequestClaims(c: Record<string, unknown>): string | undefined {
  if (!nonEmpty(c.jti, 256)) return 'jti missing';
  if (!nonEmpty(c.txn, 256)) return 'txn missing';
  if (!nonEmpty(c.sub, 256)) return 'sub missing';
  if (!nonEmpty(c.vot, 64)) return 'vot missing';
  if (!(MATCH_MODES as readonly unknown[]).includes(c.mode)) return 'mode must be match or create';
  if (typeof c.attempt !== 'number' || !Number.isInteger(c.attempt) || c.attempt < 1) return 'attempt must be a positive integer';
  const vc = c.verified_claims;
  if (!isObject(vc) || !isObject(vc.claims) || !isObject(vc.verification)) return 'verified_claims missing';
  if (c.extra_attributes !== undefined) {
    if (!isObject(c.extra_attributes)) return 'extra_attributes must be an object';
    for (const [k, v] of Object.entries(c.extra_attributes)) {
      if (!isExtraAttribute(k) || !nonEmpty(v, 64)) return `unknown extra attribute ${k}`;
    }
  }
  return undefined;
}

/** Type guard form of {@link checkMatchRequestClaims} (also requires iss, aud, iat, exp). */
export function isMatchRequestClaims(c: unknown): c is MatchRequestClaims {
  return isObject(c) && nonEmpty(c.iss) && nonEmpty(c.aud) && typeof c.iat === 'number' && typeof c.exp === 'number' && checkMatchRequestClaims(c) === undefined;
}

/**
 * Check a matching answer's claims beyond the signature and the registered claims.
 * The caller still compares `in_response_to` with its request's `jti` and `txn` with its journey.
 * @returns a short description of the first problem, or `undefined` when the claims are usable.
 */
export function checkMatchResponseClaims(c: Record<string, unknown>): string | undefined {
  if (!isMatchResult(c.result)) return 'unknown result';
  if ((c.result === 'match' || c.result === 'created') && !nonEmpty(c.account_ref, 128)) return `${c.result} without a valid account_ref`;
  if (c.result === 'need-attribute' && !isExtraAttribute(c.attribute)) return 'need-attribute without a known attribute';
  if (!nonEmpty(c.in_response_to, 256)) return 'in_response_to missing';
  if (!nonEmpty(c.txn, 256)) return 'txn missing';
  return undefined;
}

/** Type guard form of {@link checkMatchResponseClaims} (also requires iss, aud, iat, exp, jti). */
export function isMatchResponseClaims(c: unknown): c is MatchResponseClaims {
  return isObject(c) && nonEmpty(c.iss) && nonEmpty(c.aud) && typeof c.iat === 'number' && typeof c.exp === 'number' && nonEmpty(c.jti, 256) && checkMatchResponseClaims(c) === undefined;
}
