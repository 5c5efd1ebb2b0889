/**
 * Every page, in English and Welsh, in real Chromium under its own strict CSP (not bypassed):
 * axe-core finds no WCAG 2.2 A/AA violation, the browser reports no CSP violation, and the
 * GOV.UK Frontend JavaScript (progressive enhancement) loads and starts.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import Koa from 'koa';
import type { Server } from 'node:http';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { freePort } from '../../../test/support/ports.js';
import { SCREENSHOTS } from '../../../test/browser/chromium.js';
import { createViews, type Locale } from './index.js';
import { samples as pageSamples, supportSamples } from './samples.js';

// Every page and state: the citizen's and the staff console's. The passkey pages (sign-in,
// enrolment) load the console's own scripts, which this page server does not serve: they are
// checked in the staff console's journey in Chromium (test/browser/staff-console.test.ts).
const samples = [...pageSamples, ...supportSamples.filter(([name]) => name !== 'support-sign-in' && name !== 'support-enrol')];

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const views = createViews({ strict: true });

interface Violation {
  id: string;
  help: string;
  nodes: string[];
}

let server: Server;
let base: string;
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  const app = new Koa();
  app.use(views.assets);
  app.use((ctx) => {
    const sample = samples.find(([name]) => ctx.path === `/${name}`);
    if (!sample) return;
    views.render(ctx, sample[1], sample[2] as never, { locale: ctx.query.lang === 'cy' ? 'cy' : 'en' });
  });
  const port = await freePort();
  server = app.listen(port, '127.0.0.1');
  base = `http://127.0.0.1:${port}`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  context = await browser.newContext({ viewport: { width: 1024, height: 900 } });
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
});

describe('pages in Chromium', () => {
  // Up to five pages at a time (vitest's maxConcurrency), each in its own tab of one browser profile.
  it.concurrent.for(samples.flatMap(([name]) => (['en', 'cy'] as Locale[]).map((l) => [name, l] as const)))(
    '%s in %s: no axe violation, no CSP violation, GOV.UK Frontend started',
    async ([name, locale], { expect }) => {
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
      page.on('response', (r) => {
        if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
      });
      try {
        await page.addInitScript(() => {
          document.addEventListener('securitypolicyviolation', (e) => {
            console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
          });
        });
        const response = await page.goto(`${base}/${name}?lang=${locale}`, { waitUntil: 'load' });
        expect(response?.status()).toBe(200);
        await page.waitForFunction(() => document.body.classList.contains('govuk-frontend-supported'));
        // initAll() has run when a component it enhances says so (every page has the skip link).
        await page.waitForSelector('[data-module="govuk-skip-link"][data-govuk-skip-link-init]');
        expect(await page.getAttribute('html', 'lang')).toBe(locale);
        // Runtime.evaluate is not subject to the page's CSP, so the page keeps its own policy.
        await page.evaluate(axeSource);
        const violations = await page.evaluate(async () => {
          const axe = (window as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: Array<{ id: string; help: string; nodes: Array<{ html: string }> }> }> } }).axe;
          const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } });
          return result.violations.map((v) => ({ id: v.id, help: v.help, nodes: v.nodes.map((n) => n.html) }));
        });
        expect(violations.map((v: Violation) => `${v.id}: ${v.help} (${v.nodes.join(' | ')})`)).toEqual([]);
        expect(problems).toEqual([]);
        // Every page state in both languages, for a person to review: test-results/screenshots/pages/.
        mkdirSync(join(SCREENSHOTS, 'pages'), { recursive: true });
        await page.screenshot({ path: join(SCREENSHOTS, 'pages', `${name}-${locale}.png`), fullPage: true });
      } finally {
        await page.close();
      }
    },
  );
});
