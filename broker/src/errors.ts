/**
 * Errors shown to people. Each carries an HTTP status and a page title key; the internal
 * detail stays in the logs (with the error id), never on the page.
 */
export type PublicErrorTitle = 'bad_request' | 'not_found' | 'session_expired' | 'journey_ended' | 'other_browser' | 'server_error' | 'too_many_requests';

/** A journey that has finished, for the page shown when the person comes back to it (Back, refresh). */
export interface EndedJourney {
  /** `shared`: the details went to the service; `returned`: the person went back without sharing. */
  outcome: 'shared' | 'returned';
  service: string;
  /** Where the service is (the origin of its redirect URI). */
  serviceHref: string;
}

export class PublicError extends Error {
  override readonly name = 'PublicError';
  readonly expose: boolean;
  constructor(
    readonly status: number,
    readonly title: PublicErrorTitle,
    /** Internal detail for the logs. */
    readonly detail: string,
    /** For `journey_ended`: what happened, so the page can say so truthfully. */
    readonly ended?: EndedJourney,
  ) {
    super(detail);
    this.expose = status < 500;
  }
}
