import { isErrorReason, type ErrorReason } from './protocol.js';

/**
 * Every way a sign-in can end without an identity, as a closed list (switch on it):
 * the broker's reasons ({@link ErrorReason}), plus what the SDK itself detects:
 * `invalid_response` (a token or answer that failed a check), `state_mismatch` (a callback
 * not for this browser's sign-in, or no sign-in in progress) and `server_error` (the broker
 * could not be reached or failed without a reason).
 */
export type BrokerErrorCode = ErrorReason | 'invalid_response' | 'state_mismatch' | 'server_error';

/** All {@link BrokerErrorCode} values. */
export const BROKER_ERROR_CODES: readonly BrokerErrorCode[] = [
  'cancelled',
  'no_match',
  'level_not_met',
  'provider_failed',
  'fraud_flagged',
  'timed_out',
  'matching_failed',
  'no_provider',
  'invalid_response',
  'state_mismatch',
  'server_error',
];

/** Optional details of a {@link BrokerError}. */
export interface BrokerErrorDetails {
  /** A support case reference the citizen can quote (when the broker opened one). */
  caseReference?: string;
  /** The journey reference (`txn`): show it, log it. */
  journeyReference?: string;
  /** The underlying error, for your logs. */
  cause?: unknown;
}

/** A sign-in that ended without an identity. Show the citizen the README's text for `code`, the references, and your other ways. */
export class BrokerError extends Error {
  override readonly name = 'BrokerError';
  /** Why, from a closed list. */
  readonly code: BrokerErrorCode;
  /** A plain-words description (the broker's `error_description`, or the SDK's check that failed). For logs; do not rely on its wording. */
  readonly description: string;
  /** A support case reference the citizen can quote (when the broker opened one). */
  readonly caseReference?: string;
  /** The journey reference (`txn`). */
  readonly journeyReference?: string;

  constructor(code: BrokerErrorCode, description: string, details: BrokerErrorDetails = {}) {
    super(`${code}: ${description}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.description = description;
    if (details.caseReference) this.caseReference = details.caseReference;
    if (details.journeyReference) this.journeyReference = details.journeyReference;
  }
}

/** True when `e` is a {@link BrokerError} (optionally with the given code). */
export function isBrokerError(e: unknown, code?: BrokerErrorCode): e is BrokerError {
  return e instanceof BrokerError && (code === undefined || e.code === code);
}

const REFERENCE = /^[A-Za-z0-9-]{1,64}$/;
const ref = (v: string | null) => (v && REFERENCE.test(v) ? v : undefined);

/** Turn the broker's error redirect parameters (`error`, `error_reason`, `txn`, `case_ref`) into a {@link BrokerError}. */
export function errorFromRedirect(params: URLSearchParams): BrokerError {
  const reason = params.get('error_reason');
  const error = params.get('error') ?? 'server_error';
  const code: BrokerErrorCode = isErrorReason(reason) ? reason : error === 'access_denied' ? 'cancelled' : 'server_error';
  const description = (params.get('error_description') ?? error).slice(0, 500);
  return new BrokerError(code, description, { caseReference: ref(params.get('case_ref')), journeyReference: ref(params.get('txn')) });
}
