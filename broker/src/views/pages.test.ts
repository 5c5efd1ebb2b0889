/** What each page promises the citizen, beyond "it renders": forms, wording, options, status codes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Koa from 'koa';
import type { Server } from 'node:http';
import { freePort } from '../../../test/support/ports.js';
import { createViews, type Locale, type PageModels, type PageName } from './index.js';
import { samples } from './samples.js';

const views = createViews({ strict: true });
type Job = { page: PageName; model: unknown; options?: { status?: number; locale?: Locale; formActionOrigins?: string[] } };
let next: Job | undefined;
let server: Server;
let base: string;

beforeAll(async () => {
  const app = new Koa();
  app.use((ctx) => {
    if (!next) return;
    views.render(ctx, next.page, next.model as never, next.options);
  });
  const port = await freePort();
  server = app.listen(port, '127.0.0.1');
  base = `http://127.0.0.1:${port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function render<P extends PageName>(page: P, model: PageModels[P], options?: Job['options'], path = '/'): Promise<{ status: number; html: string; headers: Headers }> {
  next = { page, model, options };
  const response = await fetch(`${base}${path}`);
  return { status: response.status, html: await response.text(), headers: response.headers };
}

/** A submit button carrying name=value (attribute order is the macro's business). */
const hasButton = (html: string, name: string, value: string) =>
  (html.match(/<button[^>]*>/g) ?? []).some((b) => b.includes(`name="${name}"`) && b.includes(`value="${value}"`) && b.includes('type="submit"'));

const sample = <P extends PageName>(name: string) => samples.find(([n]) => n === name)![2] as PageModels[P];

describe('every form', () => {
  it.each(samples.filter(([, , m]) => (m as { csrfToken?: string }).csrfToken).map(([name, page]) => [name, page] as const))('%s posts with the CSRF token in each form', async (name, page) => {
    const { html } = await render(page, sample(name));
    const forms = html.match(/<form[\s\S]*?<\/form>/g) ?? [];
    expect(forms.length).toBeGreaterThan(0);
    for (const form of forms) {
      expect(form).toMatch(/^<form method="post"/);
      expect(form).toContain(`<input type="hidden" name="csrf" value="${(sample(name) as { csrfToken: string }).csrfToken}">`);
    }
  });
});

describe('render options', () => {
  it('uses the status given, and adds the extra form-action origins to the CSP', async () => {
    const { status, headers } = await render('error', { status: 404, errorId: 'e-9', title: 'not_found' }, { status: 404, formActionOrigins: ['http://localhost:3101'] });
    expect(status).toBe(404);
    expect(headers.get('content-security-policy')).toContain("form-action 'self' http://localhost:3101;");
    expect(headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(headers.get('x-content-type-options')).toBe('nosniff');
    for (const directive of ["style-src 'self'", "img-src 'self' data:", "font-src 'self'", "base-uri 'none'", "object-src 'none'"]) {
      expect(headers.get('content-security-policy')).toContain(directive);
    }
  });

  it('a Welsh page with errors has a Welsh "Error:" title and Welsh error summary', async () => {
    const { html } = await render('extra-attribute', sample<'extra-attribute'>('extra-required'), { locale: 'cy' });
    expect(html).toMatch(/<title>\s*Gwall: Beth yw eich rhif Yswiriant Gwladol\?/);
    expect(html).toContain('Mae problem wedi codi');
    expect(html).toContain('Rhowch eich rhif Yswiriant Gwladol');
  });
});

describe('pages', () => {
  it('the picker says how many providers are down when the caller only counts them, and explains privacy openly', async () => {
    const { html } = await render('picker', sample<'picker'>('picker-count'));
    expect(html).toContain('Identity providers not available right now: 2.');
    expect(html).toContain('Charity or not-for-profit');
    expect(html).toContain('Someone who has known you for 2 years');
    expect(html).toContain('We will not tell Register to vote which identity provider you choose');
    expect(html).toContain('href="/journey/u/other-ways"');
  });

  it('consent shows an address on separate lines, escaped, and both decisions as buttons', async () => {
    const { html } = await render('consent', {
      ...sample<'consent'>('consent'),
      attributes: [{ name: 'address', value: '1 <b>High</b> St\nTown' }],
    });
    expect(html).toMatch(/1 &lt;b&gt;High&lt;\/b&gt; St<br \/>\s*Town/);
    expect(hasButton(html, 'decision', 'approve')).toBe(true);
    expect(hasButton(html, 'decision', 'cancel')).toBe(true);
    expect(html).toContain('Pay your council tax will receive:');
  });

  it('the National Insurance number field is not spellchecked or autocompleted, and can be skipped', async () => {
    const { html } = await render('extra-attribute', sample<'extra-attribute'>('extra-invalid'));
    expect(html).toMatch(/<input[^>]*id="value"[^>]*name="value"[^>]*value="AB12"/);
    expect(html).toMatch(/<input[^>]*spellcheck="false"/);
    expect(html).toMatch(/<input[^>]*autocomplete="off"/);
    expect(hasButton(html, 'decision', 'skip')).toBe(true);
  });

  it('a fraud flag is explained without accusing the person', async () => {
    for (const locale of ['en', 'cy'] as const) {
      const { html } = await render('failure', sample<'failure'>('failure-fraud_flagged'), { locale });
      const text = html.replace(/<[^>]+>/g, ' ');
      expect(text).not.toMatch(/fraud|suspicious|twyll|amheus/i);
      expect(text).toContain('K7QM-2XPD-9RTB-H');
    }
  });

  it('a failure page offers each way forward only when the broker can provide it', async () => {
    const full = await render('failure', sample<'failure'>('failure-provider_failed'));
    expect(full.html).toContain('action="/journey/u/another"');
    expect(full.html).toContain('action="/journey/u/help"');
    expect(full.html).toContain('action="/journey/u/return"');
    expect(full.html).toContain('Phone 0300 123 4567');
    expect(full.html).toContain('not yours');
    const bare = await render('failure', { reason: 'timed_out', journeyRef: 'J-1', otherWays: [] });
    expect(bare.html).not.toContain('<form');
    expect(bare.html).toContain('J-1');
  });

  it('a service\'s other ways link only to web, email or phone addresses', async () => {
    const { html } = await render('other-ways', {
      service: { name: 'S' },
      ways: [
        { text: 'Bad one', href: 'javascript:alert(1)' },
        { text: 'Data', href: 'data:text/html,<b>x</b>' },
        { text: 'Elsewhere', href: '//evil.example/' },
        { text: 'Office', href: 'https://example.gov.uk/offices' },
        { text: 'Call', href: 'tel:+443001234567' },
        { text: 'Here', href: '/help' },
      ],
    });
    expect(html).not.toMatch(/href="(javascript|data):/i);
    expect(html).not.toContain('href="//evil.example/"');
    expect(html).toContain('Bad one');
    for (const href of ['https://example.gov.uk/offices', 'tel:+443001234567', '/help']) expect(html).toContain(`href="${href}"`);
  });

  it('without a service or provider name the failure page still reads as sentences, in English and Welsh', async () => {
    const en = await render('failure', { reason: 'matching_failed', journeyRef: 'J-1', otherWays: [], returnAction: '/r' });
    expect(en.html).toContain('Sorry, the service is not responding');
    expect(en.html).toContain('Go back to the service');
    expect(en.html).not.toContain('another way</h3>');
    const noMatch = await render('failure', { reason: 'no_match', journeyRef: 'J-1', otherWays: [{ text: 'Phone us' }] });
    expect(noMatch.html).toMatch(/<h1[^>]*>The service could not find your record<\/h1>/);
    expect(noMatch.html).toContain('Use the service another way');
    const cy = await render('failure', { reason: 'no_provider', journeyRef: 'J-1', otherWays: [{ text: 'Ffoniwch ni' }], returnAction: '/r' }, { locale: 'cy' });
    expect(cy.html).toContain('Gallwch ddal i ddefnyddio’r gwasanaeth mewn ffordd arall.');
    expect(cy.html).toContain('Defnyddio’r gwasanaeth mewn ffordd arall');
    expect(cy.html).toContain('Mynd yn ôl i’r gwasanaeth');
    const provider = await render('failure', { reason: 'provider_failed', journeyRef: 'J-1', otherWays: [] });
    expect(provider.html).toContain('The identity provider could not complete the check.');
  });

  it('other ways without any listed tells the person to contact the service', async () => {
    const { html } = await render('other-ways', { service: { name: 'Register to vote' }, ways: [] });
    expect(html).toContain('Contact Register to vote to ask how else you can use it.');
    expect(html).not.toContain('govuk-list--bullet');
  });

  it('the case page shows the reference, escaped, and where to check it', async () => {
    const { html } = await render('case-created', { ...sample<'case-created'>('case-created'), reference: '<i>K7QM</i>' });
    expect(html).toContain('&lt;i&gt;K7QM&lt;/i&gt;');
    expect(html).not.toContain('<i>K7QM');
    expect(html).toContain('href="/support/case"');
    expect(html).toContain('Go back to Pay your council tax');
  });

  it.each([['open', 'Open'], ['in_progress', 'Being looked at'], ['escalated', 'Passed to the organisation'], ['resolved', 'Resolved'], ['closed', 'Closed']] as const)(
    'a case that is %s says so in words',
    async (status, words) => {
      const { html } = await render('case-status', { reference: 'K7QM-2XPD-9RTB', status });
      expect(html).toMatch(new RegExp(`<strong class="govuk-tag[^"]*">\\s*${words}`));
    },
  );

  it('a next step given by support replaces the standard one', async () => {
    const { html } = await render('case-status', { reference: 'R', status: 'open', nextStep: 'Call us & ask for <Sam>.' });
    expect(html).toContain('Call us &amp; ask for &lt;Sam&gt;.');
    expect(html).not.toContain('will look at your case soon');
  });

  it('the language links point at the same page with the other query parameters kept', async () => {
    const { html } = await render('error', { status: 400, errorId: 'e' }, { locale: 'en' }, '/journey/abc?step=2&x=%3Cy%3E');
    expect(html).toContain('href="/journey/abc?step=2&amp;x=%3Cy%3E&amp;lang=cy"');
    expect(html).toContain('hreflang="cy" lang="cy">Cymraeg</a>');
  });
});
