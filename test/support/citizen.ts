/**
 * A citizen going through the broker, step by step, in a scripted browser (cookie jar,
 * manual redirects). Each step returns where the citizen ended up: a page at the broker,
 * or a redirect back to the service (not followed: the test plays the service).
 */
import { BrowserClient, getText } from './browser-client.js';
import { signInAtStub } from './idp-stub-driver.js';
import type { Federation, TestService } from './federation.js';
import { DEMO_PASSWORD } from './federation.js';

export type Landing =
  | { kind: 'page'; html: string; url: string; status: number }
  | { kind: 'service'; url: URL };

export interface CitizenOptions {
  /** Spread the citizen's requests over every broker instance in turn (two instances on one Redis). */
  alternate?: boolean;
  /** Send every request for a broker to this instance only (index into fed.brokerUrls). */
  instance?: number;
}

/** A browser that, when asked, sends each request for a broker to the next instance in turn. */
class RoundRobinBrowser extends BrowserClient {
  private turn = 0;
  /** `to`: the instances requests go to, in turn (default: all of `instances`). */
  constructor(
    private readonly instances: string[],
    private readonly to: string[] = instances,
  ) {
    super();
  }
  override async fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url);
    if (this.instances.some((i) => new URL(i).host === target.host)) {
      const next = new URL(this.to[this.turn++ % this.to.length]!);
      target.host = next.host;
    }
    return super.fetch(target, init);
  }
  /** How many requests went to each instance. */
  readonly counts = new Map<string, number>();
}

export class Citizen {
  readonly browser: BrowserClient;
  private page: Landing | undefined;
  service!: TestService;
  tx!: { url: URL; state: string; nonce: string; codeVerifier: string };

  constructor(
    private readonly fed: Federation,
    options: CitizenOptions = {},
  ) {
    this.browser =
      options.instance !== undefined
        ? new RoundRobinBrowser(fed.brokerUrls, [fed.brokerUrls[options.instance]!])
        : options.alternate
          ? new RoundRobinBrowser(fed.brokerUrls)
          : new BrowserClient();
  }

  /** The page the citizen is on now. */
  get current(): Landing {
    if (!this.page) throw new Error('the citizen has not started');
    return this.page;
  }

  get html(): string {
    const p = this.current;
    if (p.kind !== 'page') throw new Error(`the citizen is back at the service (${p.url}), not on a page`);
    return p.html;
  }

  private async land(url: string | URL, init?: RequestInit): Promise<Landing> {
    const serviceOrigin = new URL(this.service.redirectUri).origin;
    if (new URL(url).origin === serviceOrigin) return (this.page = { kind: 'service', url: new URL(url) });
    const result = await this.browser.follow(url, { ...(init ? { init } : {}), stopAt: (u) => u.origin === serviceOrigin });
    const location = result.response.headers.get('location');
    if (result.response.status >= 300 && result.response.status < 400 && location) {
      const to = new URL(location, result.url);
      if (to.origin === serviceOrigin) {
        await result.response.body?.cancel();
        return (this.page = { kind: 'service', url: to });
      }
    }
    return (this.page = { kind: 'page', html: await getText(result.response), url: result.url, status: result.response.status });
  }

  private async submit(formSelector: string | undefined, fields: Record<string, string>): Promise<Response> {
    const p = this.current;
    if (p.kind !== 'page') throw new Error('no page to submit a form on');
    return this.browser.submitForm(p.html, p.url, { ...(formSelector ? { formSelector } : {}), fields });
  }

  private async landAfter(response: Response, base: string): Promise<Landing> {
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      return this.land(new URL(location, base));
    }
    return (this.page = { kind: 'page', html: await getText(response), url: base, status: response.status });
  }

  /** The service sends the citizen to the broker. */
  async start(service: TestService, request: Parameters<TestService['begin']>[0] = {}): Promise<Landing> {
    this.service = service;
    this.tx = await service.begin(request);
    return this.land(this.tx.url);
  }

  /** Choose a provider in the picker: returns the IdP's authorization URL (not followed). */
  async choose(idpId: string, extra: Record<string, string> = {}): Promise<URL> {
    const page = this.current as Landing & { kind: 'page' };
    const response = await this.submit('provider', { provider: idpId, ...extra });
    const location = response.headers.get('location');
    if (response.status !== 303 && response.status !== 302) {
      this.page = { kind: 'page', html: await getText(response), url: page.url, status: response.status };
      throw new Error(`choosing ${idpId} did not redirect (status ${response.status})`);
    }
    return new URL(location!, page.url);
  }

  /** Sign in at the IdP stub and come back to the broker. */
  async signIn(idpUrl: URL, options: { username: string; password?: string; secondFactor?: 'code' | 'passkey' }): Promise<Landing> {
    const back = await signInAtStub(this.browser, idpUrl, { password: DEMO_PASSWORD, ...options });
    return this.land(back);
  }

  /** Choose a provider and sign in there. */
  async verifyWith(idpId: string, username: string, secondFactor: 'code' | 'passkey' | undefined = 'code'): Promise<Landing> {
    const url = await this.choose(idpId);
    return this.signIn(url, { username, ...(secondFactor ? { secondFactor } : {}) });
  }

  /**
   * Choose a provider and sign in there, while it reaches one level less than asked: the journey
   * ends on the "could not check thoroughly enough" failure page, which offers help (a case).
   */
  async failAtLevel(idpId: string, username: string): Promise<Landing> {
    const stub = this.fed.idps[idpId];
    if (!stub) throw new Error(`no IdP stub ${idpId} in this federation`);
    const before = stub.switches;
    stub.switches = { ...before, fail: 'lower-level' };
    try {
      return await this.verifyWith(idpId, username);
    } finally {
      stub.switches = before;
    }
  }

  async consent(decision: 'approve' | 'cancel'): Promise<Landing> {
    const base = (this.current as { url: string }).url;
    return this.landAfter(await this.submit('consent', { decision }), base);
  }

  async giveExtra(value: string): Promise<Landing> {
    const base = (this.current as { url: string }).url;
    return this.landAfter(await this.submit('extra', { value }), base);
  }

  /** Submit one of the forms on a failure / other-ways page by its action's last path part. */
  async press(action: 'another' | 'return' | 'help' | string, fields: Record<string, string> = {}): Promise<Landing> {
    const base = (this.current as { url: string }).url;
    return this.landAfter(await this.submit(`/${action}`, fields), base);
  }

  async visit(url: string | URL): Promise<Landing> {
    return this.land(url);
  }

  /** Back at the service: exchange the code like a service would. */
  async collect() {
    const p = this.current;
    if (p.kind !== 'service') throw new Error(`expected to be back at the service, but on ${p.url} (${p.status}): ${p.html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 400)}`);
    return this.service.finish(p.url, this.tx);
  }
}
