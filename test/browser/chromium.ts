/**
 * Real Chromium (Debian's, /usr/bin/chromium) through playwright-core, with the checks every
 * page of the browser suite gets: axe-core (WCAG 2.2 A and AA) and a screenshot under
 * test-results/ so a person can review the whole journey at a glance.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { expect, vi } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
// A page in real Chromium takes seconds on two shared cores: every file that drives Chromium gets
// 90 s a test (and its hooks) instead of the suite's 30 s, so a busy machine does not fail it.
vi.setConfig({ testTimeout: 90_000, hookTimeout: 120_000 });

export const SCREENSHOTS = resolve(import.meta.dirname, '../../test-results/screenshots');

export const CHROMIUM_ARGS = [
  '--headless=new',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-features=Translate,MediaRouter,OptimizationHints',
  ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
];

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true });
}

export interface ContextOptions {
  javaScriptEnabled?: boolean;
  locale?: string;
}

/** A new browser profile. CSP is bypassed only so axe-core can be injected for checking. */
export async function newContext(browser: Browser, options: ContextOptions = {}): Promise<BrowserContext> {
  return browser.newContext({ bypassCSP: true, javaScriptEnabled: options.javaScriptEnabled ?? true, locale: options.locale ?? 'en-GB', viewport: { width: 1024, height: 900 } });
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown[]; html: string }>;
}

/** Run axe-core with the WCAG 2.2 A and AA rules; returns the violations (empty is good). */
export async function axe(page: Page): Promise<AxeViolation[]> {
  const hasAxe = await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe !== 'undefined').catch(() => false);
  // Runtime.evaluate is not subject to the page's CSP: axe runs on pages that keep their own policy.
  if (!hasAxe) await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const a = (window as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await a.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, html: n.html })) }));
  });
}

let shot = 0;
/** Save a full-page screenshot as test-results/screenshots/<test file>-NNN-<name>.png (in journey order within each file). */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const suite = basename(expect.getState().testPath ?? 'browser').replace(/\.test\.ts$/, '');
  const file = join(SCREENSHOTS, `${suite}-${String(++shot).padStart(3, '0')}-${name.replace(/[^a-z0-9-]+/gi, '-').toLowerCase()}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** A WebAuthn virtual authenticator (Chrome DevTools Protocol) for passkey steps. */
export async function addVirtualAuthenticator(page: Page): Promise<{ authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  return cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
}

/** Screenshot a page state and require no axe violation on it (the browser suite's check of every page). */
export async function checkPage(page: Page, name: string): Promise<void> {
  await screenshot(page, name);
  const violations = await axe(page);
  expect(violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.html).join(' | ')})`), name).toEqual([]);
}

/** Run `fn` on a page of a fresh browser profile, closed afterwards whatever happens. */
export async function withPage(browser: Browser, fn: (page: Page) => Promise<void>, options: ContextOptions = {}): Promise<void> {
  const context = await newContext(browser, options);
  try {
    await fn(await context.newPage());
  } finally {
    await context.close();
  }
}
