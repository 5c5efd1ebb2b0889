/**
 * Onboarding without restarts (issue 15, item 4): two broker instances on one real Redis, the
 * policy folder changed under them with `npm run onboard`'s own functions (and one bad edit by
 * hand). Both follow every valid change without a restart, each on its own (every request of a
 * check goes to one instance); the bad edit is refused by both, named in their logs, and the
 * policy in force stays. "Follows" is polled with a deadline, never slept on.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addService, changeProvider } from '@idbroker/policies';
import { startRedis, type RedisServer } from '../support/redis.js';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen, type Landing } from '../support/citizen.js';
import { SECOND_SERVICE, testPolicies } from '../support/policies.js';
import { freePort } from '../support/ports.js';
import { signInAtStub } from '../support/idp-stub-driver.js';
import { DEMO_PASSWORD } from '../support/federation.js';
import { visibleText } from '../support/text.js';

const NEW_SERVICE = {
  ...SECOND_SERVICE,
  cy: { display_name: 'Cofrestru i bleidleisio (enghraifft)', organisation: 'Swyddfa Gofrestru Etholiadol Enghreifftiol', other_ways: [{ text: 'Llenwch ffurflen bapur.' }] },
};
const NEW_REDIRECT = SECOND_SERVICE.redirect_uris[0]!;

/** Poll `probe` until it gives a value, or fail after `ms` naming what did not happen. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms${last ? ` (last: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('policy changes under two running brokers on one Redis', () => {
  let redis: RedisServer;
  let fed: Federation;
  let drafts: string;

  beforeAll(async () => {
    redis = await startRedis();
    fed = await startFederation({ redisUrl: redis.url, brokers: 2, idps: ['civic-id', 'swift-verify'], wallets: false });
    drafts = mkdtempSync(join(tmpdir(), 'idb-drafts-'));
  }, 60_000);
  afterAll(async () => {
    await fed?.close();
    await redis?.destroy();
    if (drafts) rmSync(drafts, { recursive: true, force: true });
  });

  /** A service's authorization request, sent to instance `i` only: where it lands. */
  async function startOn(i: number, clientId: string, redirectUri: string): Promise<{ citizen: Citizen; landing: Landing }> {
    const citizen = new Citizen(fed, { instance: i });
    const landing = await citizen.start(await fed.service(clientId, redirectUri), { vtr: ['Cl.Cm.P2'] });
    return { citizen, landing };
  }
  const picker = (landing: Landing) => (landing.kind === 'page' && landing.status === 200 && /name="provider"/.test(landing.html) ? landing.html : undefined);
  const offers = (html: string) => [...html.matchAll(/name="provider" type="radio" value="([^"]+)"/g)].map((m) => m[1]);

  it('a service onboarded with npm run onboard starts journeys on both instances, and a person gets through to it', async () => {
    for (const i of [0, 1]) {
      const { landing } = await startOn(i, NEW_SERVICE.client_id, NEW_REDIRECT);
      expect(picker(landing), `instance ${i} does not know the service yet`).toBeUndefined();
    }
    const draft = join(drafts, 'voter-registration.policy.yaml');
    writeFileSync(draft, stringify(NEW_SERVICE));
    const result = addService(draft, {}, { dir: fed.policies.dir });
    expect(result.written).toBe('relying-parties/example-voter-registration.yaml');

    for (const i of [0, 1]) {
      const html = await eventually(`instance ${i} offers providers for the new service`, async () => picker((await startOn(i, NEW_SERVICE.client_id, NEW_REDIRECT)).landing));
      expect(visibleText(html)).toContain('Register to vote (example)');
      expect(fed.instanceLogs[i]!.join('')).toMatch(/"added":\["example-voter-registration"\][^\n]*policy version 2 in force/);
    }
    // A whole journey for the new service, every request at the second instance.
    const { citizen } = await startOn(1, NEW_SERVICE.client_id, NEW_REDIRECT);
    await citizen.verifyWith('civic-id', 'margaret');
    await citizen.consent('approve');
    const { claims } = await citizen.collect();
    expect(claims.aud).toBe(NEW_SERVICE.client_id);
    expect(claims.vot).toBe('Cl.Cm.P2');
    expect((claims.verified_claims as { claims: Record<string, unknown> }).claims.family_name).toBe('Okafor');
  });

  it('a suspended IdP leaves the picker of both instances; a person already at it is told it is the provider\'s problem and offered the others', async () => {
    for (const i of [0, 1]) {
      const html = picker((await startOn(i, 'example-council-tax', 'http://localhost:3200/callback')).landing)!;
      expect(offers(html)).toEqual(expect.arrayContaining(['civic-id', 'swift-verify']));
    }
    // Someone is at SwiftVerify when it is suspended.
    const { citizen } = await startOn(0, 'example-council-tax', 'http://localhost:3200/callback');
    const back = await signInAtStub(citizen.browser, await citizen.choose('swift-verify'), { username: 'dylan', password: DEMO_PASSWORD, secondFactor: 'code' });

    const result = changeProvider('swift-verify', 'suspend', { dir: fed.policies.dir });
    expect(result.message).toContain('swift-verify is now suspended');
    expect(readFileSync(join(fed.policies.dir, 'identity-providers/swift-verify.yaml'), 'utf8')).toMatch(/^status: suspended$/m);
    for (const i of [0, 1]) {
      const html = await eventually(`instance ${i} no longer offers SwiftVerify`, async () => {
        const h = picker((await startOn(i, 'example-council-tax', 'http://localhost:3200/callback')).landing);
        return h && !offers(h).includes('swift-verify') ? h : undefined;
      });
      expect(offers(html)).toContain('civic-id');
      expect(visibleText(html)).not.toContain('SwiftVerify');
    }

    // Their answer comes back: not accepted, and said truthfully.
    const failed = await citizen.visit(back);
    expect(failed.kind).toBe('page');
    const text = visibleText(citizen.html);
    expect(text).toContain('Sorry, there is a problem with the identity provider');
    expect(text).not.toContain('more thorough check');
    expect(citizen.html).toMatch(/action="[^"]*\/another"/);
    const another = await citizen.press('another');
    expect(another.kind).toBe('page');
    expect(offers(citizen.html)).toContain('civic-id');
    expect(offers(citizen.html)).not.toContain('swift-verify');
  });

  it('a bad edit is refused by both instances, named (file and field) in their logs, and the policy in force stays', async () => {
    const file = join(fed.policies.dir, 'relying-parties', 'example-voter-registration.yaml');
    const good = readFileSync(file, 'utf8');
    const before = fed.instanceLogs.map((l) => l.length);
    writeFileSync(file, good.replace(/^minimum_level: .*$/m, 'minimum_level: Cl.P9').replace(/^redirect_uris:\n {2}- .*$/m, 'redirect_uris:\n  - not a url'));
    for (const i of [0, 1]) {
      const line = await eventually(`instance ${i} logs the refusal`, async () => fed.instanceLogs[i]!.slice(before[i]).find((l) => l.includes('policy change refused')));
      const entry = JSON.parse(line) as { level: number; issues: { file: string; field: string; message: string }[]; msg: string };
      expect(entry.level).toBeGreaterThanOrEqual(50);
      expect(entry.issues).toEqual(expect.arrayContaining([expect.objectContaining({ file: 'relying-parties/example-voter-registration.yaml', field: 'redirect_uris.0' })]));
      expect(entry.msg).toContain('relying-parties/example-voter-registration.yaml (redirect_uris.0)');
      expect(entry.msg).toContain('is unchanged');
    }
    // The policy in force is the last good one, on both: the service still starts journeys at its
    // real redirect URI, and SwiftVerify is still suspended.
    for (const i of [0, 1]) {
      const html = picker((await startOn(i, NEW_SERVICE.client_id, NEW_REDIRECT)).landing);
      expect(html, `instance ${i} still serves the service`).toBeDefined();
      expect(offers(html!)).not.toContain('swift-verify');
      expect(fed.brokers[i]!.policy.version).toBe(3);
    }
    // Put right, it is taken again (by both).
    writeFileSync(file, good.replace('Register to vote (example)', 'Register to vote'));
    for (const i of [0, 1]) {
      await eventually(`instance ${i} takes the corrected file`, async () => fed.brokers[i]!.policies.relyingParty(NEW_SERVICE.client_id)?.display_name === 'Register to vote');
    }
  });
});

describe('a broker process (broker/src/main.ts) with POLICIES_WATCH=false', () => {
  it('reloads its policy folder on SIGHUP', async () => {
    const policies = testPolicies();
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), BROKER_ISSUER: `http://127.0.0.1:${port}`, POLICIES_DIR: policies.dir, POLICIES_WATCH: 'false', LOG_LEVEL: 'info' };
    for (const v of ['REDIS_URL', 'NODE_ENV']) delete env[v];
    let output = '';
    const child = spawn(process.execPath, ['--conditions=@idbroker/source', '--import', 'tsx', 'broker/src/main.ts'], { cwd: resolve(import.meta.dirname, '../..'), env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    try {
      await eventually('the broker listens', async () => output.includes('broker listening') || (child.exitCode !== null && Promise.reject(new Error(output))), 45_000);
      expect(output).not.toContain('watching the policy folder');
      changeProvider('swift-verify', 'suspend', { dir: policies.dir });
      child.kill('SIGHUP');
      const line = await eventually('the broker reloads on SIGHUP', async () => output.split('\n').find((l) => l.includes('policy version 2 in force')));
      expect(JSON.parse(line)).toMatchObject({ trigger: 'SIGHUP', providers: { changed: ['swift-verify'] } });
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200); // still serving
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      policies.remove();
    }
  }, 90_000);
});
