/**
 * The wallet stub over HTTP (Koa): a web wallet that holds a PID for each demo identity, shows
 * the verifier's request, lets the person choose what to share (or decline), and answers; the PID
 * issuer's status list; and /admin/switches to make it fail on purpose.
 *
 *   GET  /authorize?client_id&request_uri   the request: who asks, what, whose wallet, what to share
 *   POST /authorize                         share or decline
 *   GET  /status/1                          the Token Status List (statuslist+jwt)
 *   GET|POST /admin/switches                failure switches (Bearer admin token)
 */
import { randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Koa from 'koa';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import nunjucks from 'nunjucks';
import { setGlobalConfig } from '@openid4vc/oauth2';
import { defaultPoliciesDir, readPemCertificates } from '@idbroker/policies';
import { loadIdentities, type DemoIdentity } from '@idbroker/idp-stub';
import { PidIssuer, type IssuedCredential } from './issuer.js';
import { Holder, RequestRefused, type ResolvedRequest } from './holder.js';
import { parseWalletSwitches, type WalletSwitches } from './switches.js';

export interface WalletStubOptions {
  port?: number;
  host?: string;
  /** The stub's base URL (issuer, status list and authorization endpoint hang off it). Default http://localhost:<port>. */
  baseUrl?: string;
  /** Policies folder for dev keys and the verifier registrar root. Default: the shipped one. */
  policiesDir?: string;
  identities?: DemoIdentity[];
  adminToken?: string;
  switches?: Partial<WalletSwitches>;
  now?: () => Date;
}

export interface WalletStub {
  url: string;
  /** The authorization endpoint a verifier sends same-device requests to. */
  authorizationEndpoint: string;
  /** The PID issuer identifier (`iss`) and status list prefix, for a policy. */
  issuer: string;
  statusListPrefix: string;
  switches: WalletSwitches;
  /** The last presentation sent (tests look for it in stores and logs). */
  readonly lastPresentation: string | undefined;
  close(): Promise<void>;
}

type Locale = 'en' | 'cy';
const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const govukDist = resolve(dirname(require.resolve('govuk-frontend/package.json')), 'dist');
const messages: Record<Locale, Record<string, string>> = {
  en: JSON.parse(readFileSync(join(here, '../locales/en.json'), 'utf8')) as Record<string, string>,
  cy: JSON.parse(readFileSync(join(here, '../locales/cy.json'), 'utf8')) as Record<string, string>,
};
export const walletMessages = messages;
const CLAIMS = ['given_name', 'family_name', 'birthdate', 'address', 'nationalities', 'place_of_birth', 'email', 'phone_number'];

interface Pending {
  request: ResolvedRequest;
  csrf: string;
  createdAt: number;
}

export async function startWalletStub(options: WalletStubOptions = {}): Promise<WalletStub> {
  const policiesDir = options.policiesDir ?? defaultPoliciesDir;
  // A development wallet talks to a local broker over http.
  setGlobalConfig({ allowInsecureUrls: true });
  const now = options.now ?? (() => new Date());
  const identities = options.identities ?? loadIdentities();
  const app = new Koa();
  // Listen first (the URLs hang off the port); requests are handled once the app is assembled.
  let handle: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server: Server = createServer((req, res) => {
    if (handle) return handle(req, res);
    res.statusCode = 503;
    res.end();
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => ok());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port ?? 0;
  const base = (options.baseUrl ?? `http://${options.host ?? '127.0.0.1'}:${port}`).replace(/\/+$/, '');
  const issuer = new PidIssuer({ issuer: `${base}/pid-issuer`, statusListUri: `${base}/status/1`, policiesDir, now });
  const roots = readPemCertificates(readFileSync(resolve(policiesDir, 'dev-keys/wallet-verifier-root.cert.pem'), 'utf8'));
  const holder = new Holder(roots as X509Certificate[], now);
  const credentials = new Map<string, IssuedCredential>();
  for (const person of identities) credentials.set(person.username, await issuer.issue(person));
  const switches: WalletSwitches = parseWalletSwitches(options.switches ?? {}, { fail: 'none' });
  const pending = new Map<string, Pending>();
  let lastPresentation: string | undefined;
  const adminToken = options.adminToken ?? randomBytes(16).toString('hex');

  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader([join(here, '../templates'), govukDist]), { autoescape: true, trimBlocks: true, lstripBlocks: true });
  const render = (ctx: Koa.Context, page: string, model: Record<string, unknown>, status = 200) => {
    const locale: Locale = ctx.query.lang === 'cy' || (ctx.query.lang !== 'en' && ctx.cookies.get('lang') === 'cy') ? 'cy' : 'en';
    if (ctx.query.lang === 'cy' || ctx.query.lang === 'en') ctx.cookies.set('lang', String(ctx.query.lang), { httpOnly: true, sameSite: 'lax' });
    const t = (key: string, params: Record<string, string> = {}) => {
      const text = messages[locale][key];
      if (text === undefined) throw new Error(`no ${locale} message for ${key}`);
      return text.replace(/\{(\w+)\}/g, (_, n: string) => params[n] ?? `{${n}}`);
    };
    const other: Locale = locale === 'en' ? 'cy' : 'en';
    const params = new URLSearchParams(ctx.querystring);
    params.set('lang', other);
    ctx.status = status;
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'self'; img-src 'self'; font-src 'self'; form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'none'");
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = env.render(`${page}.njk`, { ...model, t, htmlLang: locale, otherLangHref: `${ctx.path}?${params}`, otherLang: other });
  };

  const router = new Router();
  const forms = bodyParser({ enableTypes: ['form', 'json'], formLimit: '16kb' });

  router.get('/authorize', async (ctx) => {
    const params = Object.fromEntries(Object.entries(ctx.query).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
    let request: ResolvedRequest;
    try {
      request = await holder.resolve(params);
    } catch (e) {
      if (!(e instanceof RequestRefused)) throw e;
      return render(ctx, 'problem', { reason: e.message }, 400);
    }
    const id = randomBytes(18).toString('base64url');
    const csrf = randomBytes(18).toString('base64url');
    pending.set(id, { request, csrf, createdAt: Date.now() });
    for (const [k, p] of pending) if (Date.now() - p.createdAt > 15 * 60_000) pending.delete(k);
    render(ctx, 'request', {
      id,
      csrf,
      verifierName: request.verifierName,
      claims: request.claims.filter((c) => CLAIMS.includes(c)),
      people: identities.map((p) => ({ value: p.username, text: `${p.given_name} ${p.family_name}` })),
    });
  });

  router.post('/authorize', forms, async (ctx) => {
    const body = ctx.request.body as Record<string, string | string[] | undefined>;
    const p = pending.get(String(body.id ?? ''));
    const csrf = Buffer.from(String(body.csrf ?? ''));
    if (!p || csrf.length !== Buffer.byteLength(p.csrf) || !timingSafeEqual(csrf, Buffer.from(p.csrf))) {
      return render(ctx, 'problem', { reason: 'expired' }, 400);
    }
    const person = typeof body.person === 'string' ? body.person : '';
    const credential = credentials.get(person);
    if (body.decision === 'share' && !credential) {
      const r = p.request;
      return render(ctx, 'request', {
        id: body.id, csrf: p.csrf, verifierName: r.verifierName, claims: r.claims.filter((c) => CLAIMS.includes(c)),
        people: identities.map((i) => ({ value: i.username, text: `${i.given_name} ${i.family_name}` })), error: 'choose_person',
      }, 400);
    }
    pending.delete(String(body.id));
    let answer: { redirect_uri?: string; status: number };
    if (body.decision !== 'share') {
      answer = await holder.decline(p.request);
    } else {
      const chosen = ([] as string[]).concat(body.disclose ?? []).filter((c) => p.request.claims.includes(c));
      const mode = switches.fail;
      let vpToken: string;
      if (mode === 'replay' && lastPresentation) {
        vpToken = lastPresentation;
      } else {
        let cred = credential!;
        const who = identities.find((i) => i.username === person)!;
        if (mode === 'expired') cred = await issuer.issue(who, -3600);
        if (mode === 'revoked') {
          cred = await issuer.issue(who);
          issuer.revoke(cred.statusIndex);
        }
        vpToken = await holder.present(cred, p.request, chosen, { ...(mode === 'wrong-nonce' ? { nonce: randomBytes(16).toString('base64url') } : {}), tamper: mode === 'tampered' });
      }
      lastPresentation = vpToken;
      answer = await holder.answer(p.request, vpToken);
    }
    if (answer.redirect_uri && /^https?:\/\//.test(answer.redirect_uri)) {
      ctx.status = 303;
      return ctx.redirect(answer.redirect_uri);
    }
    render(ctx, 'done', { shared: body.decision === 'share', accepted: answer.status === 200 });
  });

  router.get('/status/1', async (ctx) => {
    ctx.type = 'application/statuslist+jwt';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await issuer.statusListJwt();
  });

  const admin = (ctx: Koa.Context) => {
    const given = Buffer.from(ctx.get('authorization'));
    const expected = Buffer.from(`Bearer ${adminToken}`);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      ctx.status = 401;
      return false;
    }
    return true;
  };
  router.get('/admin/switches', (ctx) => {
    if (admin(ctx)) ctx.body = switches;
  });
  router.post('/admin/switches', forms, (ctx) => {
    if (!admin(ctx)) return;
    try {
      Object.assign(switches, parseWalletSwitches(ctx.request.body as Record<string, unknown>, switches));
      ctx.body = switches;
    } catch (e) {
      ctx.status = 400;
      ctx.body = { error: (e as Error).message };
    }
  });
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  const assetRoots = [join(govukDist, 'govuk/assets'), join(govukDist, 'govuk')];
  app.use(async (ctx, next) => {
    if (!ctx.path.startsWith('/assets/')) return next();
    const rel = normalize(ctx.path.slice('/assets/'.length));
    const types: Record<string, string> = { '.css': 'text/css; charset=utf-8', '.woff2': 'font/woff2', '.woff': 'font/woff', '.png': 'image/png', '.svg': 'image/svg+xml', '.ico': 'image/x-icon' };
    if (rel.startsWith('..') || !types[extname(rel)]) return next();
    for (const root of assetRoots) {
      const file = join(root, rel);
      if (file.startsWith(root) && existsSync(file) && statSync(file).isFile()) {
        ctx.type = types[extname(rel)]!;
        ctx.set('Cache-Control', 'public, max-age=86400');
        ctx.body = createReadStream(file);
        return;
      }
    }
    return next();
  });
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch {
      render(ctx, 'problem', { reason: 'error' }, 500);
    }
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  handle = app.callback();

  return {
    url: base,
    authorizationEndpoint: `${base}/authorize`,
    issuer: issuer.issuer,
    statusListPrefix: `${base}/status/`,
    switches,
    get lastPresentation() {
      return lastPresentation;
    },
    async close() {
      await new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      });
    },
  };
}
