/**
 * The broker's pages, on the GOV.UK Design System (govuk-frontend + nunjucks), in English
 * and Welsh. Every page gets a strict CSP with a fresh nonce, no-referrer, no-store.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import nunjucks from 'nunjucks';
import type Koa from 'koa';
import type { PageModels, PageName } from './models.js';

export type { PageModels, PageName } from './models.js';
export type Locale = 'en' | 'cy';
export const LOCALES: readonly Locale[] = ['en', 'cy'];

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const govukDist = resolve(dirname(require.resolve('govuk-frontend/package.json')), 'dist');
const govukVersion = (JSON.parse(readFileSync(require.resolve('govuk-frontend/package.json'), 'utf8')) as { version: string }).version;
/**
 * Changes whenever the assets can change (a new govuk-frontend, a new init module). Pages ask for
 * the stylesheet and the init module with ?v=<this>, so those may be cached for a year; a font whose
 * name carries a content hash likewise. Anything else is cached for a day.
 */
export const ASSET_VERSION = createHash('sha256').update(govukVersion).update(readFileSync(join(here, 'public/init.js'))).digest('hex').slice(0, 12);
const HASHED_NAME = /-[0-9a-f]{10}-v\d+\.woff2?$/;

type Messages = Record<string, string>;
export const messages: Record<Locale, Messages> = {
  en: JSON.parse(readFileSync(join(here, 'locales/en.json'), 'utf8')) as Messages,
  cy: JSON.parse(readFileSync(join(here, 'locales/cy.json'), 'utf8')) as Messages,
};

export class MissingMessageError extends Error {
  override readonly name = 'MissingMessageError';
}

export interface Views {
  render<P extends PageName>(ctx: Koa.Context, page: P, model: PageModels[P], options?: { status?: number; locale?: Locale; formActionOrigins?: string[] }): void;
  assets: Koa.Middleware;
  t(locale: Locale, key: string, params?: Record<string, string | number>): string;
}

export interface ViewsOptions {
  /** Where assets are served. Default '/assets'. */
  assetPath?: string;
  /** Throw on a missing message key. Default: true unless NODE_ENV is production. */
  strict?: boolean;
}

const CONTENT_TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
};

export function createViews(options: ViewsOptions = {}): Views {
  const assetPath = options.assetPath ?? '/assets';
  const strict = options.strict ?? process.env.NODE_ENV !== 'production';
  // Templates are compiled once and kept (no watching, no reloading: a change needs a restart),
  // and the macro modules they import are run once (cacheImports).
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader([join(here, 'templates'), govukDist], { watch: false, noCache: false }), {
    autoescape: true,
    throwOnUndefined: false,
    trimBlocks: true,
    lstripBlocks: true,
  });
  cacheImports(env);
  env.addFilter('safeHref', safeHref);
  env.addFilter('sentence', sentence);

  function t(locale: Locale, key: string, params: Record<string, string | number> = {}): string {
    let text = messages[locale][key];
    if (text === undefined) {
      if (strict) throw new MissingMessageError(`no ${locale} message for "${key}"`);
      text = messages.en[key] ?? key;
    }
    return text.replace(/\{(\w+)\}/g, (_, name: string) => (params[name] === undefined ? `{${name}}` : String(params[name])));
  }

  const roots = [join(here, 'public'), join(govukDist, 'govuk/assets'), join(govukDist, 'govuk')];
  const assets: Koa.Middleware = async (ctx, next) => {
    if (!ctx.path.startsWith(`${assetPath}/`) || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    const rel = normalize(ctx.path.slice(assetPath.length + 1));
    if (rel.startsWith('..') || rel.includes('\0')) return next();
    const ext = extname(rel);
    const type = CONTENT_TYPES[ext];
    if (!type) return next();
    for (const root of roots) {
      const file = join(root, rel);
      if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) continue;
      ctx.type = type;
      const fixed = ctx.query.v === ASSET_VERSION || HASHED_NAME.test(rel);
      ctx.set('Cache-Control', fixed ? 'public, max-age=31536000, immutable' : 'public, max-age=86400');
      ctx.set('X-Content-Type-Options', 'nosniff');
      ctx.body = createReadStream(file);
      return;
    }
    return next();
  };

  return {
    t,
    assets,
    render(ctx, page, model, renderOptions = {}) {
      const locale = renderOptions.locale ?? resolveLocale(ctx);
      const nonce = randomBytes(16).toString('base64');
      const tr = (key: string, params?: Record<string, string | number>) => t(locale, key, params);
      const html = env.render(`${page}.njk`, {
        ...model,
        t: tr,
        locale,
        htmlLang: locale,
        cspNonce: nonce,
        assetPath,
        assetVersion: ASSET_VERSION,
        langLinks: LOCALES.map((l) => ({ locale: l, href: languageHref(ctx, l), current: l === locale })),
        pageModel: model,
      });
      const formActions = ["'self'", ...(renderOptions.formActionOrigins ?? [])].join(' ');
      ctx.status = renderOptions.status ?? 200;
      ctx.type = 'text/html; charset=utf-8';
      ctx.set(
        'Content-Security-Policy',
        `default-src 'none'; script-src 'self' 'nonce-${nonce}'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; form-action ${formActions}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'`,
      );
      ctx.set('Referrer-Policy', 'no-referrer');
      ctx.set('X-Content-Type-Options', 'nosniff');
      ctx.set('X-Frame-Options', 'DENY');
      ctx.set('Cache-Control', 'no-store');
      ctx.body = html;
    },
  };
}

type Exported = Record<string, unknown>;
type ExportedCallback = (err: Error | null, exported: Exported | null) => void;
type TemplateWithExports = nunjucks.Template & { getExported(ctxOrCb: unknown, parentFrame?: unknown, cb?: unknown): void };
const memoised = new WeakSet<object>();

/**
 * Run each imported macro module once per environment instead of on every render.
 *
 * `{% from "govuk/components/button/macro.njk" import govukButton %}` makes nunjucks run the
 * imported template's top level on every render (a new Context, every macro defined again), and
 * each govuk-frontend component does the same for its own imports on every call: about 80 such
 * runs for one picker page, most of its render time. An import without context (`with context`
 * is not used here) depends on nothing of the render: its Context starts empty, its macros make
 * a fresh Frame on each call and read only their arguments, the environment's globals and
 * filters. So its exports are the same every time and are kept after the first run. An import
 * with context (`getExported(ctx, frame, cb)`) is run every time, as nunjucks does.
 */
export function cacheImports(env: nunjucks.Environment): void {
  const getTemplate = env.getTemplate.bind(env) as (...args: unknown[]) => unknown;
  const memo = (template: unknown) => {
    if (!template || typeof template !== 'object' || memoised.has(template)) return template;
    memoised.add(template);
    const t = template as TemplateWithExports;
    const original = t.getExported.bind(t);
    let exported: Exported | undefined;
    t.getExported = (ctxOrCb: unknown, parentFrame?: unknown, cb?: unknown) => {
      if (typeof ctxOrCb !== 'function' || parentFrame !== undefined) return original(ctxOrCb, parentFrame, cb);
      const done = ctxOrCb as ExportedCallback;
      if (exported) return done(null, exported);
      return original((err: Error | null, result: Exported | null) => {
        if (!err && result) exported = result;
        done(err, result);
      });
    };
    return template;
  };
  (env as unknown as { getTemplate: (...args: unknown[]) => unknown }).getTemplate = (...args: unknown[]) => {
    const i = args.findIndex((a) => typeof a === 'function');
    if (i >= 0) {
      const cb = args[i] as (err: unknown, template: unknown) => void;
      args[i] = (err: unknown, template: unknown) => cb(err, memo(template));
      return getTemplate(...args);
    }
    return memo(getTemplate(...args));
  };
}

/**
 * Tidy a sentence built with a generic name: a capital first letter, and in Welsh the article
 * after a vowel elided ("defnyddio y gwasanaeth" -> "defnyddio’r gwasanaeth").
 */
export function sentence(text: unknown, locale?: string): string {
  let s = String(text ?? '');
  if (locale === 'cy') s = s.replace(/([aeiouwyâêîôûŵŷ]) y (gwasanaeth|darparwr)/gi, '$1’r $2');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * A link from policy data (a service's other ways) kept only if it is https, http, mailto, tel or
 * a path on this site: never javascript:, data: or the like. Anything else renders as plain text.
 */
export function safeHref(href: unknown): string | undefined {
  if (typeof href !== 'string') return undefined;
  const trimmed = href.trim();
  if (/^\/(?![/\\])/.test(trimmed)) return trimmed;
  return /^(https?:\/\/|mailto:|tel:)/i.test(trimmed) && !/[\s<>"]/.test(trimmed) ? trimmed : undefined;
}

/** The same page in another language: ?lang=<locale>, other query parameters kept. */
export function languageHref(ctx: Koa.Context, locale: Locale): string {
  const params = new URLSearchParams(ctx.querystring);
  params.set('lang', locale);
  return `${ctx.path}?${params.toString()}`;
}

const LANG_COOKIE = 'lang';

/** ?lang=cy|en (remembered in a cookie), else the cookie, else the journey's ui_locales, else English. */
export function resolveLocale(ctx: Koa.Context, uiLocales?: string): Locale {
  const asked = typeof ctx.query?.lang === 'string' ? ctx.query.lang : undefined;
  if (asked === 'en' || asked === 'cy') {
    ctx.cookies.set(LANG_COOKIE, asked, { httpOnly: true, sameSite: 'lax', path: '/', maxAge: 365 * 24 * 3600 * 1000, overwrite: true, secure: ctx.secure });
    return asked;
  }
  const cookie = ctx.cookies.get(LANG_COOKIE);
  if (cookie === 'en' || cookie === 'cy') return cookie;
  for (const tag of (uiLocales ?? '').split(' ')) {
    const primary = tag.toLowerCase().split('-')[0];
    if (primary === 'cy' || primary === 'en') return primary;
  }
  return 'en';
}
