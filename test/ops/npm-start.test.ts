/**
 * The README's first command, `npm start`: the script it runs (scripts/start-federation.ts) is
 * started as its own process, on free ports chosen only with the documented port variables
 * (the shipped policies name other ports: they must follow), and a person in Chromium goes from the example service's start page to
 * their account, and, as the person the council cannot find, to the extra detail and then the
 * no-match page with its ways forward. Everything is under `localhost`, as npm start serves it
 * (each part on a name of its own: localhost, <idp>.localhost, council-tax.localhost), so
 * passkeys work in the browser (an IP address is no WebAuthn RP ID): Margaret sets one up at an
 * IdP stub and uses it for a journey's second step. Then SIGTERM stops it cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { addVirtualAuthenticator, checkPage, launchChromium, newContext } from '../browser/chromium.js';
import { testPolicies, type TestPolicies } from '../support/policies.js';
import { freePort } from '../support/ports.js';
import { resolveLocalhostNames } from '../../scripts/local-federation.js';

// This process fetches the example service at council-tax.localhost, as a browser would.
resolveLocalhostNames();

const root = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

/** Start scripts/start-federation.ts (what `npm start` runs) and wait for its banner. */
async function startNpmStart(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; output: () => string; exited: Promise<number | null> }> {
  let output = '';
  const child = spawn(process.execPath, ['--conditions=@idbroker/source', '--import', 'tsx', 'scripts/start-federation.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const deadline = Date.now() + 45_000;
  while (!output.includes('Performance per IdP')) {
    if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`npm start did not print its URLs within 45 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, output: () => output, exited };
}

/** The URL of each part as npm start printed it: broker, each IdP stub (by policy id), the example service. */
function printedParts(banner: string): Record<'broker' | 'civic-id' | 'swift-verify' | 'community-vouch' | 'service', string> {
  const url = (re: RegExp) => {
    const m = re.exec(banner);
    if (!m) throw new Error(`npm start did not print ${re}:\n${banner}`);
    return m[1]!;
  };
  return {
    broker: url(/Broker \(issuer\)\s+(http:\/\/\S+)/),
    'civic-id': url(/IdP Civic ID\s+(http:\/\/\S+)/),
    'swift-verify': url(/IdP SwiftVerify\s+(http:\/\/\S+)/),
    'community-vouch': url(/IdP Community Vouch\s+(http:\/\/\S+)/),
    service: url(/Example service\s+(http:\/\/\S+)/),
  };
}

describe('npm start (the local federation in one process)', () => {
  let child: ChildProcess;
  let output = '';
  let policies: TestPolicies;
  let browser: Browser;
  const ports: Record<string, number> = {};
  let exited: Promise<number | null>;

  const urls: Record<string, string> = {};

  beforeAll(async () => {
    for (const name of ['broker', 'service', 'civic-id', 'swift-verify', 'community-vouch']) ports[name] = await freePort();
    // The shipped policies (dates moved past today), unchanged: they name ports 3101-3103 and
    // 3200. Only the documented port variables choose other ports; the policies must follow.
    policies = testPolicies();
    urls.broker = `http://localhost:${ports.broker}`;
    urls.service = `http://council-tax.localhost:${ports.service}`;
    for (const id of ['civic-id', 'swift-verify', 'community-vouch']) urls[id] = `http://${id}.localhost:${ports[id]}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      BROKER_PORT: String(ports.broker),
      SERVICE_PORT: String(ports.service),
      CIVIC_ID_PORT: String(ports['civic-id']),
      SWIFT_VERIFY_PORT: String(ports['swift-verify']),
      COMMUNITY_VOUCH_PORT: String(ports['community-vouch']),
      POLICIES_DIR: policies.dir,
      LOG_LEVEL: 'warn',
    };
    delete env.REDIS_URL;
    delete env.NODE_ENV;
    delete env.BROKER_ISSUER;
    const started = await startNpmStart(env);
    child = started.child;
    output = started.output();
    exited = started.exited;
    browser = await launchChromium();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    policies?.remove();
  });

  it('prints every URL, the demo sign-ins and a one-time support enrolment link', () => {
    expect(output).toContain(`Broker (issuer)        http://localhost:${ports.broker}`);
    // Each part on a host name of its own (a cookie host of its own), on the port chosen.
    expect(printedParts(output)).toEqual({ broker: urls.broker, 'civic-id': urls['civic-id'], 'swift-verify': urls['swift-verify'], 'community-vouch': urls['community-vouch'], service: urls.service });
    expect(output).toContain(`${urls.service}   <- start here`);
    expect(output).toMatch(/margaret\s+matches the council's records/);
    expect(output).toContain('password for all: demo-password');
    expect(output).toMatch(new RegExp(`enrol a passkey .*: http://localhost:${ports.broker}/support/staff/enrol/\\S+`));
    expect(output).toContain('store: memory');
  });

  async function toConsent(page: Page, idp: string, username: string) {
    await page.goto(`${urls.service}/`);
    await page.click('text=Start now');
    await page.waitForURL(/\/journey\/[^/]+$/);
    // Community Vouch reaches P1 only: the council asks for P2, so it is not offered.
    expect(await page.locator('input[name=provider][value=community-vouch]').count()).toBe(0);
    await page.check(`input[name=provider][value=${idp}]`);
    await page.click('button:has-text("Continue")');
    await page.waitForURL(new RegExp(`^${urls[idp]}/`));
    await page.fill('input[name=username]', username);
    await page.fill('input[name=password]', 'demo-password');
    await page.click('button[type=submit]');
    await page.waitForLoadState();
    const code = (await page.textContent('[data-testid=demo-code]'))!.trim();
    await page.fill('input[name=code]', code);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/consent$/);
  }

  it('Sam (no documents) views his council tax bill through Community Vouch, in Welsh', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    try {
      await page.goto(`${urls.service}/?lang=cy`);
      await page.click('a.button[href="/login?task=bill"]');
      await page.waitForURL(/\/journey\/[^/]+$/);
      expect(await page.getAttribute('html', 'lang')).toBe('cy');
      await page.check('input[name=provider][value=community-vouch]');
      await page.click('#provider-form button[type=submit]');
      await page.waitForURL(new RegExp(`^${urls['community-vouch']}/`));
      expect(await page.getAttribute('html', 'lang')).toBe('cy');
      await page.fill('input[name=username]', 'sam');
      await page.fill('input[name=password]', 'demo-password');
      await page.click('#sign-in button[type=submit]');
      await page.waitForURL(/\/consent$/);
      await page.click('button[value=approve]');
      await page.waitForURL(new RegExp(`^${urls.service}/result/`));
      const text = (await page.textContent('main'))!;
      expect(text).toContain('Eich bil treth gyngor');
      expect(text).toContain('CT-101552');
    } finally {
      await context.close();
    }
  });

  it('Margaret signs in to the example service through Civic ID and sees her account', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    try {
      await toConsent(page, 'civic-id', 'margaret');
      expect(await page.textContent('main')).toContain('Pay your council tax');
      await page.click('button:has-text("Share and continue")');
      await page.waitForURL(new RegExp(`^${urls.service}/result/`));
      expect(await page.textContent('main')).toContain('CT-100234');
    } finally {
      await context.close();
    }
  }, 60_000);

  it('no cookie crosses between parts: after a whole journey, the cookies each part receives are only the ones it set itself', async () => {
    // Browsers ignore ports for cookies: parts sharing one host name would receive each other's cookies.
    const parts = printedParts(output);
    expect(Object.keys(parts)).toEqual(['broker', 'civic-id', 'swift-verify', 'community-vouch', 'service']);
    const context = await newContext(browser);
    const page = await context.newPage();
    const setBy = new Map<string, Set<string>>(); // "name@host" -> origins (with port) that set it
    page.on('response', (response) => {
      void response.headerValues('set-cookie').then((values) => {
        for (const value of values.flatMap((v) => v.split('\n'))) {
          const name = value.split('=')[0]!.trim();
          if (!name) continue;
          const key = `${name}@${new URL(response.url()).hostname}`;
          if (!setBy.has(key)) setBy.set(key, new Set());
          setBy.get(key)!.add(new URL(response.url()).origin);
        }
      });
    });
    try {
      // A whole journey that sets cookies at every part it passes: the service, the broker
      // (journey, language, remembered provider), Civic ID (sign-in), and back.
      await toConsent(page, 'civic-id', 'margaret');
      await page.click('button:has-text("Share and continue")');
      await page.waitForURL(new RegExp(`^${parts.service}/result/`));
      expect(await page.textContent('main')).toContain('CT-100234');
      // The other two providers are visited too, so each part has been seen by this browser.
      for (const id of ['swift-verify', 'community-vouch'] as const) await page.goto(`${parts[id]}/.well-known/openid-configuration`);
      await page.goto(`${parts.service}/`);

      const all = await context.cookies();
      expect(all.length).toBeGreaterThan(0);
      for (const [part, url] of Object.entries(parts)) {
        const origin = new URL(url).origin;
        const received = await context.cookies(url);
        const setters = (c: { name: string; domain: string }) => [...(setBy.get(`${c.name}@${c.domain}`) ?? ['an unknown origin'])];
        const foreign = received.filter((c) => !setters(c).every((o) => o === origin));
        expect(foreign.map((c) => `${c.name} (set by ${setters(c).join(', ')})`), `cookies ${part} at ${url} receives from other parts`).toEqual([]);
        for (const c of received) expect(c.domain, `${c.name} at ${part}`).toBe(new URL(url).hostname);
      }
      // And every part has a host name of its own.
      const hosts = Object.values(parts).map((u) => new URL(u).hostname);
      expect(new Set(hosts).size).toBe(hosts.length);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('Priya, whom the council cannot find, is asked for one more detail through Swift Verify, then reaches the no-match page with ways forward', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    try {
      await toConsent(page, 'swift-verify', 'priya');
      await page.click('button:has-text("Share and continue")');
      await page.waitForURL(/\/extra$/);
      await page.fill('#value', 'QQ 11 22 33 A');
      await page.click('#extra-form button:has-text("Continue")');
      await page.waitForURL(/\/failure$/);
      const text = (await page.textContent('main'))!;
      expect(text).toContain('0300 123 4567'); // the service's other ways
      expect(await page.locator('#help-form button').count()).toBe(1); // and help, which opens a case
    } finally {
      await context.close();
    }
  }, 60_000);

  it('Margaret sets up a passkey at Civic ID and uses it for the second step of a journey (real WebAuthn, the stub\'s CSP in force)', async () => {
    // No CSP bypass here: the stub's passkey script must run under its own Content-Security-Policy.
    const context = await browser.newContext({ locale: 'en-GB' });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    try {
      await addVirtualAuthenticator(page);
      const idp = urls['civic-id']!;
      await page.goto(`${idp}/passkeys`);
      await page.fill('input[name=username]', 'margaret');
      await page.fill('input[name=password]', 'demo-password');
      await page.click('button[type=submit]');
      await page.waitForURL(`${idp}/passkeys`);
      expect(await page.textContent('h1')).toBe('Set up a passkey');
      await checkPage(page, 'idp-passkey-set-up');
      await page.click('#passkey');
      await page.waitForFunction(() => document.querySelector('h1')?.textContent === 'Passkey set up', undefined, { timeout: 15_000 });
      expect(await page.textContent('main, body')).toContain('You have 1 passkey.');

      await page.goto(`${urls.service}/`);
      await page.click('text=Start now');
      await page.waitForURL(/\/journey\/[^/]+$/);
      await page.check('input[name=provider][value=civic-id]');
      await page.click('button:has-text("Continue")');
      await page.waitForURL(new RegExp(`^${idp}/`));
      await page.fill('input[name=username]', 'margaret');
      await page.fill('input[name=password]', 'demo-password');
      await page.click('button[type=submit]');
      await page.waitForSelector('#passkey-form');
      await checkPage(page, 'idp-passkey-second-step');
      await page.click('#passkey');
      await page.waitForURL(/\/consent$/, { timeout: 15_000 });
      await page.click('button:has-text("Share and continue")');
      await page.waitForURL(new RegExp(`^${urls.service}/result/`));
      expect(await page.textContent('main')).toContain('CT-100234');
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('stops cleanly on SIGTERM', async () => {
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 20_000);
});

describe('npm start on Redis, with staff invited and the audit trail checked from another terminal', () => {
  let started: Awaited<ReturnType<typeof startNpmStart>> | undefined;
  let policies: TestPolicies;
  let env: NodeJS.ProcessEnv;
  let brokerUrl: string;
  let serviceUrl: string;

  beforeAll(async () => {
    const ports: Record<string, number> = {};
    for (const name of ['broker', 'service', 'civic-id', 'swift-verify', 'community-vouch']) ports[name] = await freePort();
    policies = testPolicies({
      idps: Object.fromEntries(['civic-id', 'swift-verify', 'community-vouch'].map((id) => [id, { issuer: `http://localhost:${ports[id]}` }])),
      rps: { 'example-council-tax': { redirect_uris: [`http://localhost:${ports.service}/callback`], matching: undefined } },
    });
    brokerUrl = `http://localhost:${ports.broker}`;
    serviceUrl = `http://council-tax.localhost:${ports.service}`;
    env = {
      ...process.env,
      BROKER_PORT: String(ports.broker),
      BROKER_ISSUER: brokerUrl,
      SERVICE_PORT: String(ports.service),
      POLICIES_DIR: policies.dir,
      LOG_LEVEL: 'warn',
      REDIS_URL: inject('redisUrl'),
      REDIS_KEY_PREFIX: `npmstart${Math.random().toString(36).slice(2, 8)}:`,
    };
    delete env.NODE_ENV;
    started = await startNpmStart(env);
  }, 90_000);

  afterAll(async () => {
    if (started && started.child.exitCode === null) {
      started.child.kill('SIGTERM');
      await started.exited;
    }
    policies?.remove();
  });

  it('says it runs on Redis; `npm run staff -- invite` prints a link that opens the enrolment page; after a journey starts, `npm run audit:verify` passes', async () => {
    expect(started!.output()).toContain('store: redis');
    const invited = await run(process.execPath, ['--conditions=@idbroker/source', '--import', 'tsx', 'broker/scripts/staff.ts', 'invite', '--name', 'Alex Jones', '--role', 'agent'], { cwd: root, env, timeout: 30_000 });
    const link = /(http:\/\/\S+\/support\/staff\/enrol\/\S+)/.exec(invited.stdout)?.[1];
    expect(link, invited.stdout).toBeDefined();
    expect(link!.startsWith(`${brokerUrl}/`)).toBe(true);
    const page = await fetch(link!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Alex Jones');

    // A citizen starts a journey (to the picker): its transitions go into the audit trail.
    const login = await fetch(`${serviceUrl}/login`, { redirect: 'manual' });
    const auth = await fetch(login.headers.get('location')!, { redirect: 'manual' });
    const cookies = auth.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const picker = await fetch(new URL(auth.headers.get('location')!, brokerUrl), { headers: { cookie: cookies } });
    expect(picker.status).toBe(200);
    expect(await picker.text()).toContain('name="provider"');

    const verified = await run(process.execPath, ['--conditions=@idbroker/source', '--import', 'tsx', 'broker/scripts/audit-verify.ts'], { cwd: root, env, timeout: 30_000 });
    expect(verified.stdout).toMatch(/^audit: OK, [1-9]\d* events/m);
  }, 60_000);
});
