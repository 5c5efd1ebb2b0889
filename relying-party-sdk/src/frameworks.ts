/**
 * Sign-in routes for Koa and for Express or plain Node: start (redirect to the broker with a
 * sealed transaction cookie) and callback (verify, then your onSuccess or onError).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BrokerClient, StartLoginOptions, VerifiedIdentity } from './client.js';
import { BrokerError } from './errors.js';
import { readCookie, sealTransaction, TRANSACTION_COOKIE, TRANSACTION_MAX_AGE_MS, transactionCookieHeader, unsealTransaction, type TransactionCookieOptions } from './transaction-cookie.js';

/** A client, or a function giving one (e.g. created lazily, so your service starts before the broker does). */
export type BrokerClientSource = BrokerClient | (() => Promise<BrokerClient>);

/** Options shared by the sign-in helpers. */
export interface LoginCookieOptions {
  /** A secret of at least 32 random characters that seals the transaction cookie. Keep it on the server. Required. */
  cookieKey: string;
  /** Name of the transaction cookie. Default "broker_login". */
  cookieName?: string;
}

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
  /** Called with the verified identity: set the session, render or redirect. Required. */
  onSuccess(ctx: C, identity: VerifiedIdentity): unknown;
  /** Called with a typed error (including a missing or expired transaction cookie, as `state_mismatch`). Required. */
  onError(ctx: C, error: BrokerError): unknown;
}

const clientOf = (source: BrokerClientSource) => (typeof source === 'function' ? source() : Promise.resolve(source));
const cookieOptions = (client: BrokerClient, options: LoginCookieOptions): TransactionCookieOptions => ({
  name: options.cookieName ?? TRANSACTION_COOKIE,
  secure: client.redirectUri.startsWith('https://'),
  maxAgeSeconds: TRANSACTION_MAX_AGE_MS / 1000,
});
const checkKey = (key: string) => {
  if (typeof key !== 'string' || key.length < 32) throw new TypeError('cookieKey must be a secret of at least 32 characters');
};

async function start(source: BrokerClientSource, options: StartLoginOptions & LoginCookieOptions) {
  const client = await clientOf(source);
  const { url, transaction } = await client.startLogin(options);
  return { location: url.href, cookie: transactionCookieHeader(sealTransaction(transaction, options.cookieKey), cookieOptions(client, options)) };
}

async function finish(source: BrokerClientSource, options: LoginCookieOptions, requestUrl: string, cookieHeader: string | undefined) {
  const client = await clientOf(source);
  const options_ = cookieOptions(client, options);
  const clear = transactionCookieHeader(undefined, options_);
  const transaction = unsealTransaction(readCookie(cookieHeader, options_.name), options.cookieKey);
  if (!transaction) return { clear, error: new BrokerError('state_mismatch', 'no sign-in in progress in this browser (or it took too long)') };
  try {
    // The callback URL is rebuilt on the registered redirect URI's origin, never from the Host header.
    return { clear, identity: await client.handleCallback(new URL(requestUrl, client.redirectUri), transaction) };
  } catch (e) {
    if (e instanceof BrokerError) return { clear, error: e };
    throw e;
  }
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
      const { location, cookie } = await start(client, options);
      ctx.append('Set-Cookie', cookie);
      ctx.append('Cache-Control', 'no-store');
      ctx.redirect(location);
      return;
    }
    const callbackPath = options.callbackPath ?? new URL((await clientOf(client)).redirectUri).pathname;
    if (ctx.path === callbackPath && ctx.method === 'GET') {
      const out = await finish(client, options, ctx.url, ctx.headers.cookie);
      ctx.append('Set-Cookie', out.clear);
      ctx.append('Cache-Control', 'no-store');
      await (out.identity ? options.onSuccess(ctx, out.identity) : options.onError(ctx, out.error!));
      return;
    }
    await next();
  };
}

/** Options of {@link nodeLoginHandler}. */
export type NodeLoginOptions = StartLoginOptions & LoginCookieOptions;

/** A Node `(req, res)` handler (Express, node:http) that starts a sign-in: sets the sealed cookie and redirects (303) to the broker. */
export function nodeLoginHandler(client: BrokerClientSource, options: NodeLoginOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  checkKey(options.cookieKey);
  return async (_req, res) => {
    const { location, cookie } = await start(client, options);
    res.writeHead(303, { location, 'set-cookie': cookie, 'cache-control': 'no-store' });
    res.end();
  };
}

/** Options of {@link nodeCallbackHandler}. */
export interface NodeCallbackOptions extends LoginCookieOptions {
  /** Called with the verified identity: set your session and answer. Required. */
  onSuccess(req: IncomingMessage, res: ServerResponse, identity: VerifiedIdentity): unknown;
  /** Called with a typed error: answer the citizen (see the README's table). Required. */
  onError(req: IncomingMessage, res: ServerResponse, error: BrokerError): unknown;
}

/** A Node `(req, res)` handler (Express, node:http) for the callback route. The transaction cookie is cleared before your callback runs. */
export function nodeCallbackHandler(client: BrokerClientSource, options: NodeCallbackOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  checkKey(options.cookieKey);
  return async (req, res) => {
    const out = await finish(client, options, req.url ?? '/', req.headers.cookie);
    res.setHeader('set-cookie', out.clear);
    res.setHeader('cache-control', 'no-store');
    await (out.identity ? options.onSuccess(req, res, out.identity) : options.onError(req, res, out.error!));
  };
}
