/**
 * Errors shown to people. Each carries an HTTP status and a page title key; the internal
 * detail stays in the logs (with the error id), never on the page.
 */
export type PublicErrorTitle = 'bad_request' | 'not_found' | 'session_expired' | 'server_error' | 'too_many_requests';

export class PublicError extends Error {
  override readonly name = 'PublicError';
  readonly expose: boolean;
  constructor(
    readonly status: number,
    readonly title: PublicErrorTitle,
    /** Internal detail for the logs. */
    readonly detail: string,
  ) {
    super(detail);
    this.expose = status < 500;
  }
}
