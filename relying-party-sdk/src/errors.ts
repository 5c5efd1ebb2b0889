import { ERROR_REASONS, type ErrorReason } from './protocol.js';

/** Every way a sign-in can fail, as a closed list (switch on `code`). */
export type BrokerErrorCode = ErrorReason | 'invalid_response' | 'state_mismatch' | 'server_error';

/** What to show the citizen for each code (plain words; see the README). */
export class BrokerError extends Error {
  override readonly name = 'BrokerError';
  constructor(
    readonly code: BrokerErrorCode,
    readonly description: string,
    /** A support case reference the citizen can quote (when the broker opened one). */
    readonly caseReference?: string,
    /** The journey reference (`txn`). */
    readonly journeyReference?: string,
  ) {
    super(`${code}: ${description}`);
  }
}

/** The broker's error redirect -> a BrokerError. */
export function errorFromRedirect(params: URLSearchParams): BrokerError {
  const reason = params.get('error_reason');
  const error = params.get('error') ?? 'server_error';
  const code: BrokerErrorCode = reason && (ERROR_REASONS as readonly string[]).includes(reason) ? (reason as ErrorReason) : error === 'access_denied' ? 'cancelled' : 'server_error';
  return new BrokerError(code, params.get('error_description') ?? error, params.get('case_ref') ?? undefined, params.get('txn') ?? undefined);
}
