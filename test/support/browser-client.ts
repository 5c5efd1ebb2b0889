/**
 * A citizen's browser for scripted flows, without a real browser.
 *
 *   const browser = new BrowserClient();
 *   const { response, url } = await browser.follow(authorizeUrl);      // follows redirects
 *   const html = await getText(response);
 *   const next = await browser.submitForm(html, url, { formSelector: 'sign-in', fields: { username: 'margaret', password: 'demo-password' } });
 *   // next is the (unfollowed) response: check next.status / next.headers.get('location'), or browser.follow(...) on
 *
 * - `fetch(url, init)` never follows redirects itself (`redirect: 'manual'`) and keeps cookies.
 * - The cookie jar honours Domain, Path, Expires, Max-Age, Secure and host-only cookies; hosts are
 *   never mixed (cookies for localhost are not sent to 127.0.0.1 and the other way round).
 * - `requests` counts every request this browser has made.
 * No dependencies beyond Node 20's fetch.
 */

export interface Cookie {
  name: string;
  value: string;
  /** Lower-case host (host-only) or domain (with `hostOnly: false`). */
  domain: string;
  hostOnly: boolean;
  path: string;
  /** ms since the epoch, or undefined for a session cookie. */
  expires?: number;
  secure: boolean;
  httpOnly: boolean;
  sameSite?: string;
}

export interface FollowResult {
  response: Response;
  /** The URL of the final response. */
  url: string;
  /** Every URL visited, the first included. */
  chain: string[];
}

export interface SubmitFormOptions {
  /**
   * Which form: matches the form's id exactly, or is contained in its action, or '#id'.
   * Default: the first form on the page.
   */
  formSelector?: string;
  /** Field values to set (added when the form has no such field). */
  fields?: Record<string, string>;
  /** Name of a submit button to send (name=value), when the form has one. */
  submitter?: string;
}

export interface ParsedForm {
  id?: string;
  method: 'GET' | 'POST';
  /** Absolute URL. */
  action: string;
  /** Field values in document order (hidden, text, checked boxes/radios, selects, textareas). */
  fields: [string, string][];
  /** Named submit buttons, name -> value. */
  buttons: Record<string, string>;
}

/** The body of a response as text. */
export function getText(response: Response): Promise<string> {
  return response.text();
}

/** Decode the HTML entities found in attribute values and text. */
export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|#39|nbsp);/gi, (m, e: string) => {
    const k = e.toLowerCase();
    if (k.startsWith('#x')) return String.fromCodePoint(parseInt(k.slice(2), 16));
    if (k.startsWith('#')) return String.fromCodePoint(parseInt(k.slice(1), 10));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' } as Record<string, string>)[k] ?? m;
  });
}

/** The attributes of one start tag, e.g. `<input type="hidden" name=a value='b' disabled>`. */
export function parseAttributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  const inner = tag.replace(/^<\s*[a-zA-Z0-9-]+/, '').replace(/\/?>$/, '');
  const re = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(inner))) {
    const name = m[1]!.toLowerCase();
    if (name in out) continue;
    out[name] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

/** Every <form> on a page, parsed. */
export function parseForms(html: string, pageUrl: string): ParsedForm[] {
  const forms: ParsedForm[] = [];
  const formRe = /<form\b[^>]*>([\s\S]*?)<\/form\s*>/gi;
  let fm: RegExpExecArray | null;
  while ((fm = formRe.exec(html))) {
    const openTag = /^<form\b[^>]*>/i.exec(fm[0])![0];
    const attrs = parseAttributes(openTag);
    const body = fm[1]!;
    const fields: [string, string][] = [];
    const buttons: Record<string, string> = {};
    const controlRe = /<(input|button)\b[^>]*>|<textarea\b[^>]*>([\s\S]*?)<\/textarea\s*>|<select\b[^>]*>([\s\S]*?)<\/select\s*>/gi;
    let cm: RegExpExecArray | null;
    while ((cm = controlRe.exec(body))) {
      const tag = cm[0];
      const tagName = /^<\s*([a-z]+)/i.exec(tag)![1]!.toLowerCase();
      const a = parseAttributes(/^<[^>]*>/.exec(tag)![0]);
      if (!a.name || 'disabled' in a) continue;
      if (tagName === 'input') {
        const type = (a.type ?? 'text').toLowerCase();
        if (type === 'submit' || type === 'image') buttons[a.name] = a.value ?? '';
        else if (type === 'checkbox' || type === 'radio') {
          if ('checked' in a) fields.push([a.name, a.value ?? 'on']);
        } else if (type !== 'file' && type !== 'reset' && type !== 'button') fields.push([a.name, a.value ?? '']);
      } else if (tagName === 'button') {
        const type = (a.type ?? 'submit').toLowerCase();
        if (type === 'submit') buttons[a.name] = a.value ?? '';
      } else if (tagName === 'textarea') {
        fields.push([a.name, decodeEntities((cm[2] ?? '').replace(/^\r?\n/, ''))]);
      } else if (tagName === 'select') {
        const options = [...(cm[3] ?? '').matchAll(/<option\b[^>]*>([\s\S]*?)(?=<option\b|$)/gi)];
        const chosen = options.find((o) => 'selected' in parseAttributes(/^<option\b[^>]*>/i.exec(o[0])![0])) ?? options[0];
        if (chosen) {
          const oa = parseAttributes(/^<option\b[^>]*>/i.exec(chosen[0])![0]);
          fields.push([a.name, oa.value ?? decodeEntities((chosen[1] ?? '').replace(/<[^>]*>/g, '').trim())]);
        }
      }
    }
    forms.push({
      id: attrs.id,
      method: (attrs.method ?? 'get').toUpperCase() === 'POST' ? 'POST' : 'GET',
      action: new URL(attrs.action || pageUrl, pageUrl).toString(),
      fields,
      buttons,
    });
  }
  return forms;
}

function defaultPath(url: URL): string {
  const p = url.pathname;
  if (!p.startsWith('/') || p === '/') return '/';
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

function domainMatches(host: string, cookie: Cookie): boolean {
  if (cookie.hostOnly) return host === cookie.domain;
  return host === cookie.domain || (host.endsWith(`.${cookie.domain}`) && !/^[\d.]+$/.test(host) && !host.includes(':'));
}

export class BrowserClient {
  /** How many requests this browser has made. */
  requests = 0;
  private jar: Cookie[] = [];
  /** Headers sent with every request (e.g. Accept-Language). */
  readonly defaultHeaders: Record<string, string>;
  private readonly now: () => number;

  constructor(options: { headers?: Record<string, string>; now?: () => number } = {}) {
    this.defaultHeaders = { 'user-agent': 'idbroker-test-browser/1', accept: 'text/html,application/json;q=0.9,*/*;q=0.8', ...options.headers };
    this.now = options.now ?? Date.now;
  }

  /** Current cookies (expired ones dropped). */
  cookies(): Cookie[] {
    const t = this.now();
    this.jar = this.jar.filter((c) => c.expires === undefined || c.expires > t);
    return [...this.jar];
  }

  /** The value of a cookie that would be sent to `url`, or undefined. */
  cookie(url: string | URL, name: string): string | undefined {
    return this.cookiesFor(new URL(url)).find((c) => c.name === name)?.value;
  }

  clearCookies(): void {
    this.jar = [];
  }

  /** The Cookie header for a URL: path-longest first, host-aware. */
  cookieHeader(url: URL): string {
    return this.cookiesFor(url)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  private cookiesFor(url: URL): Cookie[] {
    const host = url.hostname.toLowerCase();
    const secure = url.protocol === 'https:';
    return this.cookies()
      .filter((c) => domainMatches(host, c) && pathMatches(url.pathname || '/', c.path) && (!c.secure || secure || host === 'localhost' || host === '127.0.0.1'))
      .sort((a, b) => b.path.length - a.path.length);
  }

  /** Store the Set-Cookie headers of a response from `url`. */
  storeCookies(url: URL, headers: Headers): void {
    const list = headers.getSetCookie();
    for (const line of list) this.storeCookie(url, line);
  }

  private storeCookie(url: URL, line: string): void {
    const [pair, ...attrs] = line.split(';');
    const eq = pair!.indexOf('=');
    if (eq <= 0) return;
    const name = pair!.slice(0, eq).trim();
    const value = pair!.slice(eq + 1).trim();
    const host = url.hostname.toLowerCase();
    const cookie: Cookie = { name, value, domain: host, hostOnly: true, path: defaultPath(url), secure: false, httpOnly: false };
    let maxAge: number | undefined;
    for (const attr of attrs) {
      const i = attr.indexOf('=');
      const key = (i < 0 ? attr : attr.slice(0, i)).trim().toLowerCase();
      const val = i < 0 ? '' : attr.slice(i + 1).trim();
      if (key === 'domain' && val) {
        const d = val.replace(/^\./, '').toLowerCase();
        if (!domainMatches(host, { ...cookie, domain: d, hostOnly: false })) return; // a cookie for another site: refused
        if (d !== host) {
          cookie.domain = d;
          cookie.hostOnly = false;
        }
      } else if (key === 'path') cookie.path = val.startsWith('/') ? val : defaultPath(url);
      else if (key === 'expires') {
        const t = Date.parse(val);
        if (!Number.isNaN(t)) cookie.expires = t;
      } else if (key === 'max-age') {
        const n = Number(val);
        if (/^-?\d+$/.test(val)) maxAge = n;
      } else if (key === 'secure') cookie.secure = true;
      else if (key === 'httponly') cookie.httpOnly = true;
      else if (key === 'samesite') cookie.sameSite = val.toLowerCase();
    }
    if (maxAge !== undefined) cookie.expires = maxAge <= 0 ? 0 : this.now() + maxAge * 1000;
    this.jar = this.jar.filter((c) => !(c.name === cookie.name && c.domain === cookie.domain && c.path === cookie.path && c.hostOnly === cookie.hostOnly));
    if (cookie.expires === undefined || cookie.expires > this.now()) this.jar.push(cookie);
  }

  /** One request, cookies sent and stored, redirects not followed. */
  async fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url);
    const headers = new Headers(this.defaultHeaders);
    new Headers(init.headers).forEach((v, k) => headers.set(k, v));
    const cookie = this.cookieHeader(target);
    if (cookie) headers.set('cookie', cookie);
    this.requests += 1;
    const response = await fetch(target, { ...init, headers, redirect: 'manual' });
    this.storeCookies(target, response.headers);
    return response;
  }

  /**
   * Request `url` and follow redirects (GET after 301/302/303, the same method and body after
   * 307/308) up to `maxHops`. `stopAt(url)` true stops before requesting that URL (the response
   * returned is then the redirect that pointed there).
   */
  async follow(
    url: string | URL,
    options: { maxHops?: number; init?: RequestInit; stopAt?: (url: URL) => boolean } = {},
  ): Promise<FollowResult> {
    const maxHops = options.maxHops ?? 20;
    let current = new URL(url);
    let init: RequestInit = options.init ?? {};
    const chain = [current.toString()];
    let response = await this.fetch(current, init);
    for (let hop = 0; ; hop++) {
      const location = response.headers.get('location');
      if (response.status < 300 || response.status > 399 || !location) break;
      if (hop >= maxHops) throw new Error(`more than ${maxHops} redirects, from ${chain[0]}`);
      const next = new URL(location, current);
      if (options.stopAt?.(next)) break;
      await response.body?.cancel();
      if (response.status !== 307 && response.status !== 308) {
        init = { method: 'GET', headers: init.headers };
      }
      current = next;
      chain.push(current.toString());
      response = await this.fetch(current, init);
    }
    return { response, url: current.toString(), chain };
  }

  /** Parse a form of `html` (see SubmitFormOptions) without submitting it. */
  findForm(html: string, pageUrl: string | URL, formSelector?: string): ParsedForm {
    const forms = parseForms(html, pageUrl.toString());
    const sel = formSelector?.replace(/^#/, '');
    const form = sel === undefined ? forms[0] : forms.find((f) => f.id === sel) ?? forms.find((f) => f.action.includes(sel));
    if (!form) {
      throw new Error(`no form${formSelector ? ` matching "${formSelector}"` : ''} on ${pageUrl} (forms: ${forms.map((f) => f.id ?? f.action).join(', ') || 'none'})`);
    }
    return form;
  }

  /** Fill in and submit a form of `html` (the page at `pageUrl`). Returns the response, not followed. */
  async submitForm(html: string, pageUrl: string | URL, options: SubmitFormOptions = {}): Promise<Response> {
    const form = this.findForm(html, pageUrl, options.formSelector);
    const params = new URLSearchParams();
    const overrides = { ...options.fields };
    const done = new Set<string>();
    for (const [name, value] of form.fields) {
      if (Object.hasOwn(overrides, name)) {
        if (!done.has(name)) params.append(name, overrides[name]!);
        done.add(name);
      } else params.append(name, value);
    }
    for (const [name, value] of Object.entries(overrides)) if (!done.has(name)) params.append(name, value);
    if (options.submitter !== undefined && Object.hasOwn(form.buttons, options.submitter)) {
      params.append(options.submitter, form.buttons[options.submitter]!);
    }
    if (form.method === 'GET') {
      const target = new URL(form.action);
      target.search = params.toString();
      return this.fetch(target);
    }
    return this.fetch(form.action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(pageUrl).origin },
      body: params.toString(),
    });
  }
}
