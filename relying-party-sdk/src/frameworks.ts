/**
 * Sign-in routes for Koa and for Express or plain Node: start (redirect to the broker with a
 * sealed transaction cookie) and callback (verify, then your onSuccess or onError).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BrokerClient, StartLoginOptions, VerifiedIdentity } from './client.js';
import { BrokerError } from './errors.js';
import {
  FINISHED_MARKER_MAX_AGE_MS,
  MAX_PARALLEL_LOGINS,
  readCookie,
  sealedCreatedAt,
  sealFinished,
  sealTransaction,
  TRANSACTION_COOKIE,
  TRANSACTION_MAX_AGE_MS,
  transactionCookieHeader,
  transactionCookieName,
  transactionCookies,
  unsealFinished,
  unsealTransaction,
  type TransactionCookieOptions,
} from './transaction-cookie.js';

/** A client, or a function giving one (e.g. created lazily, so your service starts before the broker does). */
export type BrokerClientSource = BrokerClient | (() => Promise<BrokerClient>);

/** Options shared by the sign-in helpers. */
export interface LoginCookieOptions {
  /** A secret of at least 32 random characters that seals the transaction cookies. Keep it on the server. Required. */
  cookieKey: string;
  /** Base name of the transaction cookies (one per sign-in: `<name>.<id>`). Default "broker_login". */
  cookieName?: string;
}

/**
 * What `onSuccess` and `onError` may return (or resolve to): a path (or URL) of your service to
 * send the browser to with `303 See Other` (post/redirect/get, recommended: show the result
 * there, from your session). Going Back to the callback, or refreshing it, then leads to the same
 * place again instead of an error. Anything else (nothing) means your callback answered itself.
 */
export type CallbackResult = string | void | undefined;
/** The part of a Koa context the helpers use (a real Koa `Context` fits). */
export interface KoaLoginContext {
  method: string;
  path: string;
  url: string;
  headers: IncomingMessage['headers'];
  status: number;
  body: unknown;
  type: string;
  append(field: string, value: string): void;
  redirect(url: string): void;
}

/** Options of {@link koaBrokerLogin}. */
export interface KoaBrokerLoginOptions<C extends KoaLoginContext = KoaLoginContext> extends StartLoginOptions, LoginCookieOptions {
  /** Path that starts a sign-in (GET or POST, e.g. a "Start now" button). Default "/login". */
  loginPath?: string;
  /** Path of the callback. Default: the path of the client's redirect URI. */
  callbackPath?: string;
  /** Called with the verified identity: keep what you need in your session, and return the path to show it on (see {@link CallbackResult}). Required. */
  onSuccess(ctx: C, identity: VerifiedIdentity): unknown;
  /** Called with a typed error (including a missing or expired transaction cookie, as `state_mismatch`): keep it in your session and return the path that explains it. Required. */
  onError(ctx: C, error: BrokerError): unknown;
  /**
   * Options for this one sign-in, over the ones above: for example the level a task needs, or
   * `uiLocales` in the language the person chose on your pages. Default: none (the options above).
   */
  loginOptions?(ctx: C): Partial<StartLoginOptions> | Promise<Partial<StartLoginOptions>>;
}

const clientOf = (source: BrokerClientSource) => (typeof source === 'function' ? source() : Promise.resolve(source));
const cookieOptions = (client: BrokerClient, name: string, maxAgeSeconds = TRANSACTION_MAX_AGE_MS / 1000): TransactionCookieOptions => ({
  name,
  secure: client.redirectUri.startsWith('https://'),
  maxAgeSeconds,
});
const checkKey = (key: string) => {
  if (typeof key !== 'string' || key.length < 32) throw new TypeError('cookieKey must be a secret of at least 32 characters');
};

/** Start a sign-in: the broker URL, and the Set-Cookie values (this sign-in's cookie, and the oldest dropped beyond {@link MAX_PARALLEL_LOGINS}). */
async function start(source: BrokerClientSource, options: StartLoginOptions & LoginCookieOptions, cookieHeader: string | undefined) {
  const client = await clientOf(source);
  const base = options.cookieName ?? TRANSACTION_COOKIE;
  const { url, transaction } = await client.startLogin(options);
  const cookies = [transactionCookieHeader(sealTransaction(transaction, options.cookieKey), cookieOptions(client, transactionCookieName(transaction.state, base)))];
  const inFlight = transactionCookies(cookieHeader, base).map((c) => ({ ...c, at: sealedCreatedAt(c.value, options.cookieKey) }));
  inFlight.sort((a, b) => a.at - b.at);
  for (const old of inFlight.slice(0, Math.max(0, inFlight.length - (MAX_PARALLEL_LOGINS - 1)))) {
    cookies.push(transactionCookieHeader(undefined, cookieOptions(client, old.name)));
  }
  return { location: url, cookies };
}

type Finished =
  | { kind: 'identity'; identity: VerifiedIdentity; cookieName: string; state: string }
  | { kind: 'error'; error: BrokerError; cookieName?: string; state?: string }
  | { kind: 'again'; location: string };

/** The callback: this sign-in's transaction (by `state`), or the page its first callback went to. */
async function finish(client: BrokerClient, options: LoginCookieOptions, requestUrl: string, cookieHeader: string | undefined): Promise<Finished> {
  const base = options.cookieName ?? TRANSACTION_COOKIE;
  // The callback URL is rebuilt on the registered redirect URI's origin, never from the Host header.
  const url = new URL(requestUrl, client.redirectUri);
  const state = url.searchParams.get('state');
  if (!state) return { kind: 'error', error: new BrokerError('state_mismatch', 'the callback has no state') };
  const cookieName = transactionCookieName(state, base);
  const sealed = readCookie(cookieHeader, cookieName);
  const marker = unsealFinished(sealed, options.cookieKey);
  if (marker && marker.state === state) return { kind: 'again', location: marker.finished };
  const transaction = unsealTransaction(sealed, options.cookieKey);
  if (!transaction) return { kind: 'error', error: new BrokerError('state_mismatch', 'no sign-in in progress in this browser for this callback (or it took too long)') };
  try {
    return { kind: 'identity', identity: await client.handleCallback(url, transaction), cookieName, state };
  } catch (e) {
    if (e instanceof BrokerError) return { kind: 'error', error: e, cookieName, state };
    throw e;
  }
}

/** The Set-Cookie value for a finished sign-in: its marker (when the callback redirected) or its deletion. */
function afterCallback(client: BrokerClient, options: LoginCookieOptions, out: Finished, result: unknown): string | undefined {
  if (out.kind === 'again' || !out.cookieName || !out.state) return undefined;
  if (typeof result === 'string') {
    return transactionCookieHeader(
      sealFinished({ state: out.state, finished: result, createdAt: Date.now() }, options.cookieKey),
      cookieOptions(client, out.cookieName, FINISHED_MARKER_MAX_AGE_MS / 1000),
    );
  }
  return transactionCookieHeader(undefined, cookieOptions(client, out.cookieName));
}

/**
 * Koa middleware for both sign-in routes:
 * ```ts
 * app.use(koaBrokerLogin(client, { cookieKey, vtr: 'Cl.Cm.P2', attributes: ['given_name'],
 *   onSuccess: (ctx, identity) => { ctx.body = `Hello ${identity.attributes.given_name}`; },
 *   onError: (ctx, error) => { ctx.status = 403; ctx.body = error.code; } }));
 * ```
 * Other paths pass through to `next`.
 */
export function koaBrokerLogin<C extends KoaLoginContext = KoaLoginContext>(client: BrokerClientSource, options: KoaBrokerLoginOptions<C>): (ctx: C, next: () => Promise<unknown>) => Promise<void> {
  checkKey(options.cookieKey);
  const loginPath = options.loginPath ?? '/login';
  return async (ctx, next) => {
    if (ctx.path === loginPath && (ctx.method === 'GET' || ctx.method === 'POST')) {
      const { location, cookies } = await start(client, { ...options, ...(await options.loginOptions?.(ctx)) }, ctx.headers.cookie);
      for (const cookie of cookies) ctx.append('Set-Cookie', cookie);
      ctx.append('Cache-Control', 'no-store');
      ctx.redirect(location);
      ctx.status = 303;
      return;
    }
    const resolved = await clientOf(client);
    const callbackPath = options.callbackPath ?? new URL(resolved.redirectUri).pathname;
    if (ctx.path === callbackPath && ctx.method === 'GET') {
      const out = await finish(resolved, options, ctx.url, ctx.headers.cookie);
      ctx.append('Cache-Control', 'no-store');
      if (out.kind === 'again') {
        ctx.redirect(out.location);
        ctx.status = 303;
        return;
      }
      const result = await (out.kind === 'identity' ? options.onSuccess(ctx, out.identity) : options.onError(ctx, out.error));
      const cookie = afterCallback(resolved, options, out, result);
      if (cookie) ctx.append('Set-Cookie', cookie);
      if (typeof result === 'string') {
        ctx.redirect(result);
        ctx.status = 303;
      }
      return;
    }
    await next();
  };
}

/** Options of {@link nodeLoginHandler}. */
export type NodeLoginOptions = StartLoginOptions &
  LoginCookieOptions & {
    /** Options for this one sign-in, over the ones above (e.g. `uiLocales` from the person's language). Default: none. */
    loginOptions?(req: IncomingMessage): Partial<StartLoginOptions> | Promise<Partial<StartLoginOptions>>;
  };

/** A Node `(req, res)` handler (Express, node:http) that starts a sign-in: sets this sign-in's sealed cookie and redirects (303) to the broker. */
export function nodeLoginHandler(client: BrokerClientSource, options: NodeLoginOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  checkKey(options.cookieKey);
  return async (req, res) => {
    const { location, cookies } = await start(client, { ...options, ...(await options.loginOptions?.(req)) }, req.headers.cookie);
    res.writeHead(303, { location, 'set-cookie': cookies, 'cache-control': 'no-store' });
    res.end();
  };
}

/** Options of {@link nodeCallbackHandler}. */
export interface NodeCallbackOptions extends LoginCookieOptions {
  /** Called with the verified identity: keep what you need in your session and return the path to show it on (see {@link CallbackResult}), or answer yourself. Required. */
  onSuccess(req: IncomingMessage, res: ServerResponse, identity: VerifiedIdentity): unknown;
  /** Called with a typed error: keep it in your session and return the path that explains it (see the README's table), or answer yourself. Required. */
  onError(req: IncomingMessage, res: ServerResponse, error: BrokerError): unknown;
}

/**
 * A Node `(req, res)` handler (Express, node:http) for the callback route. When your callback
 * returns a path, the browser is sent there with 303 (and Back or refresh on the callback goes
 * there again); otherwise your callback answers and this sign-in's cookie is cleared.
 */
export function nodeCallbackHandler(client: BrokerClientSource, options: NodeCallbackOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  checkKey(options.cookieKey);
  return async (req, res) => {
    const resolved = await clientOf(client);
    const out = await finish(resolved, options, req.url ?? '/', req.headers.cookie);
    res.setHeader('cache-control', 'no-store');
    if (out.kind === 'again') {
      res.writeHead(303, { location: out.location });
      res.end();
      return;
    }
    // Set before your callback runs, so it applies when your callback answers itself.
    const clear = afterCallback(resolved, options, out, undefined);
    if (clear) res.setHeader('set-cookie', clear);
    const result = await (out.kind === 'identity' ? options.onSuccess(req, res, out.identity) : options.onError(req, res, out.error));
    if (typeof result === 'string' && !res.headersSent) {
      // Keep the cookies your callback set (e.g. your session); this sign-in's cookie becomes its marker.
      const marker = afterCallback(resolved, options, out, result);
      const existing = res.getHeader('set-cookie');
      const cookies = (Array.isArray(existing) ? existing : existing === undefined ? [] : [String(existing)]).filter((c) => c !== clear);
      if (marker) cookies.push(marker);
      res.setHeader('set-cookie', cookies);
      res.writeHead(303, { location: result });
      res.end();
    }
  };
}
