/** Why a return from an identity provider was not accepted, as the journey understands it. */
export type UpstreamFailure = 'cancelled' | 'provider_failed' | 'level_not_met' | 'fraud_flagged' | 'invalid_response';

/**
 * What exactly went wrong, as a code (`area.snake_case`) for the audit trail and support: finer
 * than the journey's reason (which decides the ways forward), never personal data, never the
 * provider's free text. Return codes: docs/adr/0006-return-codes.md.
 */
export const UPSTREAM_CAUSES = [
  'idp.access_denied',
  'idp.error',
  'idp.unavailable',
  'idp.timeout',
  'token.bad_signature',
  'token.wrong_issuer',
  'token.wrong_audience',
  'token.wrong_nonce',
  'token.missing_nonce',
  'token.expired',
  'token.issued_in_future',
  'token.invalid',
  'level.below_request',
  'level.not_supported_by_evidence',
  'level.beyond_certificate',
  'level.provider_not_certified',
  'fraud.contra_indicators',
  'return_code.evidence',
  'return_code.provider',
  'return_code.fraud',
  'return_code.unknown',
  'response.invalid',
] as const;
export type UpstreamCause = (typeof UPSTREAM_CAUSES)[number];

/**
 * A failed exchange with an identity provider. `reason` drives the journey (what the citizen is
 * offered next); `cause` is the audit code; `detail` is for the logs only and never carries
 * personal data.
 */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  /** The audit code of this failure. */
  readonly code: UpstreamCause;
  constructor(
    readonly reason: UpstreamFailure,
    /** Internal, for logs: what exactly was wrong. Never personal data. */
    readonly detail: string,
    options?: { cause?: unknown; code?: UpstreamCause },
  ) {
    super(`${reason}: ${detail}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = options?.code ?? causeFromDetail(reason, detail);
  }
}

/** The audit code of a failure whose thrower did not name one, from its reason and detail. */
export function causeFromDetail(reason: UpstreamFailure, detail: string): UpstreamCause {
  switch (reason) {
    case 'cancelled':
      return 'idp.access_denied';
    case 'fraud_flagged':
      return 'fraud.contra_indicators';
    case 'provider_failed':
      if (/timed out/i.test(detail)) return 'idp.timeout';
      if (/HTTP 5\d\d|token endpoint 5\d\d|network|circuit open|unavailable|temporarily_unavailable/i.test(detail)) return 'idp.unavailable';
      return 'idp.error';
    case 'level_not_met':
      if (/ reached .* asked for |^reached /.test(detail)) return 'level.below_request';
      if (/not certified for the/.test(detail)) return 'level.beyond_certificate';
      if (/meet no |without GPG 45 scores| amr /.test(detail)) return 'level.not_supported_by_evidence';
      return 'level.provider_not_certified';
    case 'invalid_response':
      if (/mix-up|"iss"/.test(detail)) return 'token.wrong_issuer';
      if (/"aud"/.test(detail)) return 'token.wrong_audience';
      if (/"nonce"[^]*missing|missing[^]*nonce|nonce[^]*(absent|not present)/i.test(detail)) return 'token.missing_nonce';
      if (/nonce/i.test(detail)) return 'token.wrong_nonce';
      if (/"exp"/.test(detail)) return 'token.expired';
      if (/"iat"|"nbf"/.test(detail)) return 'token.issued_in_future';
      if (/signature/i.test(detail)) return 'token.bad_signature';
      if (/ID token|JWT|alg/i.test(detail)) return 'token.invalid';
      return 'response.invalid';
  }
}
