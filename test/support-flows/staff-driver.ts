/** Scripted staff in the console: enrol a passkey from an invite, sign in, act on cases. */
import { SoftwareAuthenticator } from '@idbroker/idp-stub/testing';
import { BrowserClient, getText } from '../support/browser-client.js';

export const optionsIn = (html: string) => JSON.parse(html.match(/<script type="application\/json" id="webauthn-options">([\s\S]*?)<\/script>/)![1]!.replace(/\\u003c/g, '<'));

export class StaffMember {
  readonly browser = new BrowserClient();
  readonly authenticator = new SoftwareAuthenticator();
  constructor(readonly base: string, readonly origin = base) {}

  async enrol(link: string): Promise<Response> {
    const url = new URL(new URL(link).pathname, this.base);
    const page = await getText(await this.browser.fetch(url));
    const response = this.authenticator.register(optionsIn(page), this.origin);
    return this.browser.submitForm(page, url, { formSelector: 'passkey-form', fields: { response: JSON.stringify(response) } });
  }

  /** Sign in; returns the response to the sign-in POST (303 on success). */
  async signIn(options: { origin?: string; replay?: string } = {}): Promise<{ response: Response; sent: string }> {
    const url = new URL('/support/staff/sign-in', this.base);
    const page = await getText(await this.browser.fetch(url));
    const sent = options.replay ?? JSON.stringify(this.authenticator.authenticate(optionsIn(page), options.origin ?? this.origin, this.authenticator.credentials[0]));
    const response = await this.browser.submitForm(page, url, { formSelector: 'passkey-form', fields: { response: sent } });
    return { response, sent };
  }

  /** A signed sign-in response for a challenge this member's own browser was given (not posted). */
  async signedResponse(): Promise<string> {
    const page = await getText(await this.browser.fetch(new URL('/support/staff/sign-in', this.base)));
    return JSON.stringify(this.authenticator.authenticate(optionsIn(page), this.origin, this.authenticator.credentials[0]));
  }

  /** The session cookie, if this browser is signed in. */
  get sessionId(): string | undefined {
    return this.browser.cookies().find((c) => c.name === 'idb_staff')?.value;
  }

  async page(path: string): Promise<{ status: number; html: string }> {
    const response = await this.browser.fetch(new URL(path, this.base));
    return { status: response.status, html: await getText(response) };
  }

  /**
   * Post a case action (note, escalate, assign, resolve, reopen) with this session's CSRF token,
   * taken from the queue page (opening the case page would itself be audited, or refused).
   */
  async act(ref: string, action: string, fields: Record<string, string> = {}): Promise<Response> {
    const html = await getText(await this.browser.fetch(new URL('/support/staff', this.base)));
    const csrf = html.match(/name="csrf" value="([^"]+)"/)![1]!;
    return this.browser.fetch(new URL(`/support/staff/cases/${ref}/${action}`, this.base), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      // Resolving is confirmed on a page of its own; the driver confirms unless told otherwise.
      body: new URLSearchParams({ csrf, ...(action === 'resolve' && fields.confirm === undefined ? { confirm: 'yes' } : {}), ...fields }).toString(),
    });
  }
}
