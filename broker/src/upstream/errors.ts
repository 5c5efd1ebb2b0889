/** Why a return from an identity provider was not accepted, as the journey understands it. */
export type UpstreamFailure = 'cancelled' | 'provider_failed' | 'level_not_met' | 'fraud_flagged' | 'invalid_response';

/**
 * A failed exchange with an identity provider. `reason` drives the journey (what the citizen is
 * offered next); `detail` is for the logs only and never carries personal data.
 */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    readonly reason: UpstreamFailure,
    /** Internal, for logs: what exactly was wrong. Never personal data. */
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${reason}: ${detail}`, options);
  }
}
