/** The stub's own routes in front of oidc-provider: recording, admin, switches, health, static, CSP, pages. */
import type Koa from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { adminRoute, isAdminPath } from './admin.js';
import { isPasskeyPath, passkeyRoutes } from './passkey-registration.js';
import { interactionPath, interactionRoutes } from './sign-in.js';
import { resolveLocale } from './locales.js';
import { notFoundPage } from './pages.js';
import { html } from './http.js';
import { serveStatic } from './static-files.js';
import { tamperIdToken } from './tamper.js';
import { prune, type StubRuntime } from './stub-context.js';

const MAX_BODY = 256 * 1024;

/** Read the body (at most 256 KiB) and keep it on ctx.req.body; undefined when too large. */
async function readBody(ctx: Koa.Context): Promise<string | undefined> {
  if (ctx.method === 'GET' || ctx.method === 'HEAD') return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  const body = Buffer.concat(chunks).toString('utf8');
  (ctx.req as { body?: string }).body = body;
  return body;
}

export function stubMiddleware(stub: StubRuntime): Koa.Middleware {
  const notFound = (ctx: Koa.Context) => {
    const locale = resolveLocale(ctx);
    html(ctx, notFoundPage({ idpName: stub.idpNameIn(locale), locale, path: ctx.path, resumeHref: stub.resumeUrl }), 404);
  };
  const { options, policy, requests } = stub;
  const formActions = [...new Set(["'self'", ...options.broker.redirectUris.map((u) => new URL(u).origin)])].join(' ');
  const csp = `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action ${formActions}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'`;
  const signIn = interactionRoutes(stub);
  const passkeys = passkeyRoutes(stub);

  return async (ctx, next) => {
    const body = await readBody(ctx);
    if (body === undefined) {
      ctx.status = 413;
      return;
    }
    requests.push({ method: ctx.method, url: ctx.originalUrl, headers: { ...ctx.headers }, body });
    prune(stub);

    if (isAdminPath(ctx.path)) {
      adminRoute(stub, ctx, body);
      return;
    }

    const switches = stub.switches;
    if (switches.delayMs > 0) await new Promise((r) => setTimeout(r, switches.delayMs));
    if (switches.fail === 'down') {
      ctx.status = 503;
      ctx.set('Retry-After', '30');
      ctx.body = { error: 'temporarily_unavailable' };
      return;
    }
    ctx.set('Content-Security-Policy', csp);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');

    if (ctx.path === '/healthz') {
      ctx.body = { status: 'ok' };
      return;
    }
    if (ctx.path === '/token' && switches.fail === 'error') {
      ctx.status = 500;
      ctx.body = { error: 'server_error', error_description: 'The identity provider had a problem' };
      return;
    }
    if (serveStatic(ctx)) return;
    if (ctx.path === '/trustmark') {
      ctx.body = { idp: policy.id, certified: policy.certified, certification_expires: policy.certification_expires, trust_framework: 'uk_diatf' };
      return;
    }
    const m = interactionPath.exec(ctx.path);
    if (m) {
      await signIn(ctx, m[1]!, m[2] ?? '');
      return;
    }
    if (isPasskeyPath(ctx.path)) {
      await passkeys(ctx);
      if (ctx.status === 404 && ctx.body == null) notFound(ctx);
      return;
    }
    await next();
    if (ctx.path === '/token' && ctx.status === 200) await tamperIdToken(stub, ctx as unknown as KoaContextWithOIDC);
    // Nothing answered (oidc-provider has no such route): a page, not Koa's bare "Not Found".
    if (ctx.status === 404 && ctx.body == null) notFound(ctx);
  };
}
