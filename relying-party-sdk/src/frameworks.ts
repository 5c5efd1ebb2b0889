/** Koa and Express (plain Node) helpers for the sign-in routes. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BrokerClient, StartLoginOptions, VerifiedIdentity } from './client.js';
import { BrokerError } from './errors.js';
import { sealTransaction, TRANSACTION_COOKIE, transactionCookieOptions, unsealTransaction } from './transaction-cookie.js';

export interface LoginRouteOptions extends StartLoginOptions {
  /** A secret of 32+ characters to seal the transaction cookie. */
  cookieKey: string;
  /** The redirect URI (for cookie attributes). */
  redirectUri: string;
}

interface KoaLikeContext {
  url: string;
  href: string;
  cookies: { get(name: string): string | undefined; set(name: string, value: string | null, opts?: Record<string, unknown>): unknown };
  redirect(url: string): void;
  state: Record<string, unknown>;
}

/**
 * Koa middleware for your login and callback routes:
 *   router.get('/login', koaBrokerLogin(client, opts).login)
 *   router.get('/callback', koaBrokerLogin(client, opts).callback(onSuccess, onError))
 */
export function koaBrokerLogin(client: BrokerClient, options: LoginRouteOptions) {
  return {
    async login(ctx: KoaLikeContext) {
      const { url, transaction } = await client.startLogin(options);
      ctx.cookies.set(TRANSACTION_COOKIE, sealTransaction(transaction, options.cookieKey), transactionCookieOptions(options.redirectUri));
      ctx.redirect(url.href);
    },
    callback(onSuccess: (ctx: KoaLikeContext, identity: VerifiedIdentity) => unknown, onError: (ctx: KoaLikeContext, error: BrokerError) => unknown) {
      return async (ctx: KoaLikeContext) => {
        const transaction = unsealTransaction(ctx.cookies.get(TRANSACTION_COOKIE), options.cookieKey);
        ctx.cookies.set(TRANSACTION_COOKIE, null, transactionCookieOptions(options.redirectUri));
        if (!transaction) return onError(ctx, new BrokerError('state_mismatch', 'no sign-in in progress in this browser (or it took too long)'));
        try {
          return await onSuccess(ctx, await client.handleCallback(ctx.href, transaction));
        } catch (e) {
          if (e instanceof BrokerError) return onError(ctx, e);
          throw e;
        }
      };
    },
  };
}

function readCookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of String(req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

function cookieHeader(name: string, value: string, opts: ReturnType<typeof transactionCookieOptions>, clear = false): string {
  return [
    `${name}=${clear ? '' : encodeURIComponent(value)}`,
    `Path=${opts.path}`,
    `Max-Age=${clear ? 0 : Math.floor(opts.maxAge / 1000)}`,
    'HttpOnly',
    'SameSite=Lax',
    ...(opts.secure ? ['Secure'] : []),
  ].join('; ');
}

/** Plain Node / Express handlers: `app.get('/login', h.login); app.get('/callback', h.callback(onSuccess, onError))`. */
export function nodeBrokerLogin(client: BrokerClient, options: LoginRouteOptions & { baseUrl: string }) {
  const cookieOpts = transactionCookieOptions(options.redirectUri);
  return {
    async login(_req: IncomingMessage, res: ServerResponse) {
      const { url, transaction } = await client.startLogin(options);
      res.writeHead(302, { location: url.href, 'set-cookie': cookieHeader(TRANSACTION_COOKIE, sealTransaction(transaction, options.cookieKey), cookieOpts) });
      res.end();
    },
    callback(onSuccess: (req: IncomingMessage, res: ServerResponse, identity: VerifiedIdentity) => unknown, onError: (req: IncomingMessage, res: ServerResponse, error: BrokerError) => unknown) {
      return async (req: IncomingMessage, res: ServerResponse) => {
        const transaction = unsealTransaction(readCookie(req, TRANSACTION_COOKIE), options.cookieKey);
        res.setHeader('set-cookie', cookieHeader(TRANSACTION_COOKIE, '', cookieOpts, true));
        if (!transaction) return onError(req, res, new BrokerError('state_mismatch', 'no sign-in in progress in this browser (or it took too long)'));
        try {
          return await onSuccess(req, res, await client.handleCallback(new URL(req.url ?? '/', options.baseUrl), transaction));
        } catch (e) {
          if (e instanceof BrokerError) return onError(req, res, e);
          throw e;
        }
      };
    },
  };
}
