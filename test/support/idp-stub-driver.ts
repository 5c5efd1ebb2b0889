/**
 * Drives the IdP stub's pages as a citizen would, for scripted journeys.
 *
 *   const browser = new BrowserClient();
 *   // the broker's redirect to the IdP (or any authorization URL at a stub):
 *   const back = await signInAtStub(browser, authorizeUrlAtStub, { username: 'margaret', password: 'demo-password' });
 *   back.searchParams.get('code') // or 'error'; `back` is the broker callback, NOT requested yet
 *   await browser.follow(back)    // carry on at the broker
 *
 * Second step (when the request needs Cl.Cm or more): `secondFactor: 'code'` reads the demo
 * one-time code from the page; `'passkey'` uses `authenticator` (a SoftwareAuthenticator holding a
 * passkey registered at this stub, see registerPasskeyAtStub). Default: a code when the page
 * offers one, else a passkey.
 * Throws (with the page's error text) when the stub shows an error instead of redirecting back.
 */
import type { SoftwareAuthenticator } from '@idbroker/idp-stub/testing';
import { BrowserClient, getText } from './browser-client.js';

export interface SignInAtStubOptions {
  username: string;
  password: string;
  secondFactor?: 'code' | 'passkey';
  authenticator?: SoftwareAuthenticator;
}

export class StubPageError extends Error {
  override readonly name = 'StubPageError';
  constructor(
    message: string,
    readonly status: number,
    readonly url: string,
    readonly html: string,
  ) {
    super(message);
  }
}

type Step = { out: URL } | { html: string; url: string; status: number };

/** Text of the page's error summary / error messages, or its <h1>. */
function pageProblem(html: string): string {
  const errors = [...html.matchAll(/<p class="error-message"[^>]*>([\s\S]*?)<\/p>/g)].map((m) =>
    m[1]!.replace(/<[^>]*>/g, '').replace(/\s+/g, ' ').trim(),
  );
  if (errors.length) return errors.join('; ');
  const h1 = /<h1[^>]*>([\s\S]*?)<\/h1>/.exec(html)?.[1] ?? '';
  const p = /<\/h1>\s*<p[^>]*>([\s\S]*?)<\/p>/.exec(html)?.[1] ?? '';
  return `${h1.replace(/<[^>]*>/g, '').trim()}: ${p.replace(/<[^>]*>/g, '').trim()}`;
}

async function advance(browser: BrowserClient, response: Response, pageUrl: string, origin: string): Promise<Step> {
  const offStub = (u: URL) => u.origin !== origin;
  if (response.status >= 300 && response.status < 400 && response.headers.get('location')) {
    const next = new URL(response.headers.get('location')!, pageUrl);
    await response.body?.cancel();
    if (offStub(next)) return { out: next };
    const followed = await browser.follow(next, { stopAt: offStub });
    return advance(browser, followed.response, followed.url, origin);
  }
  return { html: await getText(response), url: pageUrl, status: response.status };
}

function expectPage(step: Step, what: string): { html: string; url: string; status: number } {
  if ('out' in step) throw new Error(`expected ${what}, but the stub redirected back to ${step.out.toString()}`);
  if (step.status >= 400) throw new StubPageError(`the stub answered ${step.status}: ${pageProblem(step.html)}`, step.status, step.url, step.html);
  return step;
}

function hidden(html: string, formId: string, name: string): string {
  const form = new RegExp(`<form\\b[^>]*id="${formId}"[\\s\\S]*?</form>`).exec(html)?.[0] ?? '';
  return new RegExp(`name="${name}" value="([^"]*)"`).exec(form)?.[1] ?? '';
}

/** Answer a passkey form (id `formId`) of `page` with `authenticator`; returns the form's response. */
async function answerPasskey(
  browser: BrowserClient,
  page: { html: string; url: string },
  formId: string,
  authenticator: SoftwareAuthenticator,
  kind: 'authenticate' | 'register',
): Promise<Response> {
  const form = new RegExp(`<form\\b[^>]*id="${formId}"[^>]*>`).exec(page.html)?.[0];
  if (!form) throw new StubPageError(`no passkey form on the page: ${pageProblem(page.html)}`, 200, page.url, page.html);
  const optionsUrl = new URL(/data-options-url="([^"]+)"/.exec(form)![1]!, page.url);
  const csrf = hidden(page.html, formId, 'csrf');
  const res = await browser.fetch(optionsUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ csrf }).toString(),
  });
  if (!res.ok) throw new Error(`passkey options: ${res.status} ${await res.text()}`);
  const options = (await res.json()) as Record<string, unknown>;
  const origin = new URL(page.url).origin;
  const answer = kind === 'register' ? authenticator.register(options, origin) : authenticator.authenticate(options, origin);
  return browser.submitForm(page.html, page.url, { formSelector: formId, fields: { response: JSON.stringify(answer) } });
}

/**
 * Sign in at an IdP stub from its authorization URL; returns the URL the stub redirects back to
 * (the broker's callback with code, state and iss, or with error), without requesting it.
 */
export async function signInAtStub(browser: BrowserClient, authorizeUrlAtStub: string | URL, options: SignInAtStubOptions): Promise<URL> {
  const origin = new URL(authorizeUrlAtStub).origin;
  const first = await browser.follow(authorizeUrlAtStub, { stopAt: (u) => u.origin !== origin });
  let step = await advance(browser, first.response, first.url, origin);
  if ('out' in step) return step.out;
  const signIn = expectPage(step, 'the sign-in page');
  const res = await browser.submitForm(signIn.html, signIn.url, {
    formSelector: 'sign-in',
    fields: { username: options.username, password: options.password },
  });
  step = await advance(browser, res, signIn.url, origin);
  if ('out' in step) return step.out;
  const second = expectPage(step, 'the second sign-in step');
  const offersCode = /id="code-form"/.test(second.html);
  const factor = options.secondFactor ?? (offersCode ? 'code' : 'passkey');
  let answer: Response;
  if (factor === 'code') {
    const code = /data-testid="demo-code">(\d{6})</.exec(second.html)?.[1];
    if (!offersCode || !code) throw new StubPageError('the stub does not offer a one-time code here (a passkey is needed)', second.status, second.url, second.html);
    answer = await browser.submitForm(second.html, second.url, { formSelector: 'code-form', fields: { code } });
  } else {
    if (!options.authenticator) throw new Error('secondFactor passkey needs an authenticator (SoftwareAuthenticator)');
    answer = await answerPasskey(browser, second, 'passkey-form', options.authenticator, 'authenticate');
  }
  step = await advance(browser, answer, second.url, origin);
  if ('out' in step) return step.out;
  expectPage(step, 'a redirect back to the broker');
  throw new StubPageError(`the stub did not redirect back: ${pageProblem(step.html)}`, step.status, step.url, step.html);
}

/** Register a passkey for a demo user at a stub (its /passkeys page), held by `authenticator`. */
export async function registerPasskeyAtStub(
  browser: BrowserClient,
  stubUrl: string | URL,
  options: { username: string; password: string; authenticator: SoftwareAuthenticator },
): Promise<void> {
  const origin = new URL(stubUrl).origin;
  const first = await browser.follow(new URL('/passkeys', stubUrl));
  const page = expectPage(await advance(browser, first.response, first.url, origin), 'the passkey sign-in page');
  let step = page;
  if (/id="sign-in"/.test(page.html)) {
    const res = await browser.submitForm(page.html, page.url, {
      formSelector: 'sign-in',
      fields: { username: options.username, password: options.password },
    });
    step = expectPage(await advance(browser, res, page.url, origin), 'the passkey page');
  }
  const res = await answerPasskey(browser, step, 'register-form', options.authenticator, 'register');
  const done = expectPage(await advance(browser, res, step.url, origin), 'passkey set up');
  if (!/Passkey set up/.test(done.html)) throw new StubPageError(`passkey not set up: ${pageProblem(done.html)}`, done.status, done.url, done.html);
}
