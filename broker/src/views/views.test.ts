import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Koa from 'koa';
import type { Server } from 'node:http';
import { freePort } from '../../../test/support/ports.js';
import nunjucks from 'nunjucks';
import { ASSET_VERSION, cacheImports, createViews, messages, resolveLocale, type Locale } from './index.js';
import { samples as pageSamples, supportSamples } from './samples.js';

const samples = [...pageSamples, ...supportSamples];

const views = createViews({ strict: true });
let server: Server;
let base: string;
beforeAll(async () => {
  const app = new Koa();
  app.use(views.assets);
  app.use((ctx) => {
    const sample = samples.find(([name]) => ctx.path === `/${name}`);
    if (!sample) return;
    views.render(ctx, sample[1], sample[2] as never, { locale: resolveLocale(ctx) });
  });
  const port = await freePort();
  server = app.listen(port, '127.0.0.1');
  base = `http://127.0.0.1:${port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const get = (path: string) => fetch(`${base}${path}`);

describe('broker pages', () => {
  it('English and Welsh have the same keys and the same placeholders', () => {
    expect(Object.keys(messages.cy).sort()).toEqual(Object.keys(messages.en).sort());
    for (const key of Object.keys(messages.en)) {
      const holes = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort();
      expect(holes(messages.cy[key]!), key).toEqual(holes(messages.en[key]!));
    }
  });

  it.each(samples.flatMap(([name]) => (['en', 'cy'] as Locale[]).map((l) => [name, l] as const)))('%s renders in %s without a missing message', async (name, locale) => {
    const response = await get(`/${name}?lang=${locale}`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain(`lang="${locale}"`);
    expect(html).not.toMatch(/\b(picker|consent|failure|error|common|extra|attribute|other_ways)\.[a-z_]+\b(?![^<]*>)/);
  });

  it('picks the locale from ?lang, then the cookie, then the journey\'s ui_locales, then English', async () => {
    const app = new Koa();
    app.use((ctx) => {
      ctx.body = resolveLocale(ctx, typeof ctx.query.ui === 'string' ? ctx.query.ui : undefined);
    });
    const port = await freePort();
    const s = app.listen(port, '127.0.0.1');
    try {
      const ask = async (query: string, cookie?: string) => {
        const r = await fetch(`http://127.0.0.1:${port}/?${query}`, { headers: cookie ? { cookie } : {} });
        return { locale: await r.text(), setCookie: r.headers.get('set-cookie') };
      };
      expect(await ask('lang=cy', 'lang=en')).toMatchObject({ locale: 'cy' });
      expect((await ask('lang=cy')).setCookie).toMatch(/^lang=cy; path=\/;.*samesite=lax; httponly/i);
      expect(await ask('ui=cy', 'lang=en')).toEqual({ locale: 'en', setCookie: null });
      expect(await ask('lang=fr&ui=cy-GB%20en')).toEqual({ locale: 'cy', setCookie: null });
      expect(await ask('ui=fr%20en-GB')).toMatchObject({ locale: 'en' });
      expect(await ask('ui=fr', 'lang=xx')).toMatchObject({ locale: 'en' });
    } finally {
      await new Promise<void>((r) => s.close(() => r()));
    }
  });

  it('outside strict mode a missing Welsh message falls back to English, then to the key', () => {
    const lenient = createViews({ strict: false });
    const key = Object.keys(messages.en).find((k) => k === 'consent.approve')!;
    const saved = messages.cy[key]!;
    delete messages.cy[key];
    try {
      expect(lenient.t('cy', key)).toBe('Share and continue');
      expect(() => views.t('cy', key)).toThrow(/no cy message/);
    } finally {
      messages.cy[key] = saved;
    }
    expect(lenient.t('cy', 'no.such.key')).toBe('no.such.key');
    expect(views.t('cy', 'common.return_to_service', { service: 'Cofrestru i bleidleisio' })).toBe('Mynd yn ôl i Cofrestru i bleidleisio');
  });

  it('a missing message fails loudly in strict mode', () => {
    expect(() => views.t('cy', 'no.such.key')).toThrow(/no cy message for "no.such.key"/);
  });

  it('sets a strict CSP with a fresh nonce, no-referrer and no-store', async () => {
    const a = await get('/picker');
    const b = await get('/picker');
    const csp = a.headers.get('content-security-policy')!;
    expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]+'/);
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toBe(b.headers.get('content-security-policy'));
    expect(a.headers.get('referrer-policy')).toBe('no-referrer');
    expect(a.headers.get('cache-control')).toBe('no-store');
    const html = await a.text();
    for (const script of html.match(/<script[^>]*>/g) ?? []) expect(script).toMatch(/nonce="/);
  });

  it('the picker offers only available providers as choices, and lists the others as not available', async () => {
    const html = await (await get('/picker')).text();
    expect(html).toMatch(/name="provider"[^>]*value="civic-id"[^>]*checked/);
    expect(html).toContain('value="swift-verify"');
    expect(html).not.toContain('value="down-idp"');
    expect(html).toContain('Not available right now');
    expect(html).toContain('Down IdP');
    expect(html).toContain('Public sector');
    expect(html).toContain('name="csrf" value="csrf-token-1"');
  });

  it('an error shows the summary linking to the field, the field error, and "Error:" in the title', async () => {
    const html = await (await get('/extra-invalid')).text();
    expect(html).toMatch(/<title>\s*Error: /);
    expect(html).toContain('govuk-error-summary');
    expect(html).toContain('href="#value"');
    expect(html).toContain('id="value-error"');
    const picker = await (await get('/picker-error')).text();
    expect(picker).toContain('href="#provider"');
    expect(picker).toContain('id="provider"');
  });

  it('escapes what services and IdPs send', async () => {
    const app = new Koa();
    app.use((ctx) =>
      views.render(ctx, 'consent', {
        service: { name: '<script>alert(1)</script>', organisation: 'Org' },
        provider: { name: 'P' },
        attributes: [{ name: 'given_name', value: '<img src=x onerror=alert(1)>' }],
        formAction: '/x',
      }),
    );
    const port = await freePort();
    const s = app.listen(port, '127.0.0.1');
    const html = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    s.close();
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<img src=x');
  });

  it('the language switch keeps the other query parameters and remembers the choice', async () => {
    const response = await get('/picker?lang=cy&foo=bar');
    const html = await response.text();
    expect(html).toContain('Dewiswch sut i brofi pwy ydych chi');
    expect(html).toMatch(/href="\/picker\?lang=en&amp;foo=bar"/);
    expect(response.headers.get('set-cookie')).toMatch(/lang=cy;.*httponly/i);
    const again = await fetch(`${base}/picker`, { headers: { cookie: 'lang=cy' } });
    expect(await again.text()).toContain('lang="cy"');
  });

  it('caches versioned and content-hashed assets for a year, anything else for a day', async () => {
    const page = await (await get('/consent')).text();
    const cssHref = page.match(/href="(\/assets\/govuk-frontend\.min\.css\?v=[0-9a-f]+)"/)![1]!;
    expect(cssHref).toContain(`v=${ASSET_VERSION}`);
    expect((await get(cssHref)).headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await get('/assets/govuk-frontend.min.css?v=stale')).headers.get('cache-control')).toBe('public, max-age=86400');
    expect((await get('/assets/govuk-frontend.min.css')).headers.get('cache-control')).toBe('public, max-age=86400');
    const css = await (await get(cssHref)).text();
    const font = css.match(/url\(\/assets\/fonts\/([^)]+\.woff2)\)/)?.[1] ?? css.match(/fonts\/([a-z]+-[0-9a-f]{10}-v\d+\.woff2)/)![1]!;
    const fontResponse = await get(`/assets/fonts/${font}`);
    expect(fontResponse.status).toBe(200);
    expect(fontResponse.headers.get('content-type')).toBe('font/woff2');
    expect(fontResponse.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });

  it('serves the GOV.UK Frontend assets', async () => {
    const css = await get('/assets/govuk-frontend.min.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toContain('text/css');
    expect((await get('/assets/fonts/light-94a07e06a1-v2.woff2')).status).not.toBe(500);
    expect((await get('/assets/../package.json')).status).toBe(404);
    const init = await get('/assets/init.js');
    expect(init.headers.get('content-type')).toContain('text/javascript');
    expect(await init.text()).toContain('initAll()');
    const page = await (await get('/consent')).text();
    // The only script elements: GOV.UK's one-line js-enabled class switch and the external init module, both with the nonce.
    expect(page.match(/<script[^>]*>/g)).toHaveLength(2);
    expect(page).toMatch(/<script type="module" nonce="[^"]+" src="\/assets\/init.js\?v=[0-9a-f]{12}"><\/script>/);
    expect(page).not.toMatch(/\sstyle="/);
  });
});

describe('imported macro modules (cacheImports)', () => {
  /** An environment whose templates live in memory; `ran` counts how often a module's top level ran. */
  function environment() {
    const ran: Record<string, number> = {};
    const templates: Record<string, string> = {
      'macros.njk': '{{ tick("macros") }}{% macro hello(params) %}<b>{{ params.name | upper }}</b>{% include "inner.njk" %}{% endmacro %}',
      'inner.njk': '{% from "attrs.njk" import attrs %}<i{{ attrs(params.attrs) }}></i>',
      'attrs.njk': '{{ tick("attrs") }}{% macro attrs(a) %}{% for k, v in a %} {{ k }}="{{ v }}"{% endfor %}{% endmacro %}',
      'page.njk': '{% from "macros.njk" import hello %}{{ hello({ name: who, attrs: { lang: lang } }) }}{{ hello({ name: "x", attrs: {} }) }}',
      'page-with-context.njk': '{% from "macros.njk" import hello with context %}{{ hello({ name: who, attrs: {} }) }}',
    };
    const loader = { getSource: (name: string) => (templates[name] === undefined ? null : { src: templates[name]!, path: name, noCache: false }) };
    const env = new nunjucks.Environment(loader as unknown as nunjucks.ILoader, { autoescape: true });
    env.addGlobal('tick', (name: string) => {
      ran[name] = (ran[name] ?? 0) + 1;
      return '';
    });
    return { env, ran };
  }

  it('runs a module imported without context once, and every render still gets its own output', () => {
    const plain = environment();
    const cached = environment();
    cacheImports(cached.env);
    for (const [who, lang] of [['ada', 'en'], ['<bob>', 'cy'], ['ada', 'en']]) {
      const expected = plain.env.render('page.njk', { who, lang });
      expect(cached.env.render('page.njk', { who, lang })).toBe(expected);
      expect(expected).toContain(`lang="${lang}"`);
      expect(expected).toContain(who === 'ada' ? '<b>ADA</b>' : '<b>&lt;BOB&gt;</b>');
    }
    // Without the cache: once per render for macros.njk, once per macro call for attrs.njk.
    expect(plain.ran).toEqual({ macros: 3, attrs: 6 });
    expect(cached.ran).toEqual({ macros: 1, attrs: 1 });
  });

  it('runs a module imported with context on every render, as nunjucks does', () => {
    const cached = environment();
    cacheImports(cached.env);
    expect(cached.env.render('page-with-context.njk', { who: 'ada' })).toContain('<b>ADA</b>');
    expect(cached.env.render('page-with-context.njk', { who: 'cy' })).toContain('<b>CY</b>');
    expect(cached.ran.macros).toBe(2);
  });
});
