/**
 * Exceptional circumstances (issue 12, point 5): no route and no role reads a journey's verified
 * attributes. Known attribute values are planted in the store by real journeys (one waiting at
 * consent, one consented and waiting for its service to collect, one failed with a support case),
 * then every route of the broker, every one its Koa routers declare and every endpoint of its
 * OpenID Provider, is requested by every kind of caller: anonymous, a service with its own access
 * token, and staff signed in as agent, supervisor and auditor. None of the answers holds a planted
 * value. The citizen's own browser, on the consent page, does: the values were there to be found.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type Router from '@koa/router';
import * as client from 'openid-client';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';
import { BrowserClient, getText } from '../support/browser-client.js';
import { StaffMember } from '../support-flows/staff-driver.js';

/** Margaret's verified attributes at the demo IdPs: what must never come out of a sealed journey. */
const PLANTED = ['Margaret', 'Okafor', '1958-03-14', '14/03/1958', '14 March 1958', 'EX1 2AB'];

interface Caller {
  name: string;
  fetch(url: URL, init: RequestInit): Promise<Response>;
  /** A CSRF token this caller legitimately holds (staff: from the queue page). */
  csrf?: string;
}

describe('exceptional circumstances: no route and no role reads a journey\'s verified attributes', () => {
  let fed: Federation;
  const answers: Array<{ caller: string; method: string; path: string; status: number; text: string }> = [];
  const planted: { consentUid?: string; failedUid?: string; caseRef?: string } = {};
  let consentPage = '';

  beforeAll(async () => {
    fed = await startFederation({ redisUrl: inject('redisUrl'), idps: ['civic-id', 'swift-verify'] });
    const service = await fed.service();

    // 1. Margaret at consent: her attributes sealed in the journey state.
    const waiting = new Citizen(fed);
    await waiting.start(service, { vtr: ['Cl.Cm.P2'] });
    await waiting.verifyWith('civic-id', 'margaret');
    consentPage = waiting.html;
    planted.consentUid = new URL((waiting.current as { url: string }).url).pathname.split('/')[2];
    // 2. Margaret consented: her attributes sealed under the grant, the code not yet collected.
    const uncollected = new Citizen(fed);
    await uncollected.start(service, { vtr: ['Cl.Cm.P2'] });
    await uncollected.verifyWith('swift-verify', 'margaret');
    await uncollected.consent('approve');
    expect(uncollected.current.kind).toBe('service');
    // 3. Margaret's check fell short of the level and she opened a support case.
    const failed = new Citizen(fed);
    await failed.start(service, { vtr: ['Cl.Cm.P2'] });
    await failed.failAtLevel('civic-id', 'margaret');
    planted.failedUid = new URL((failed.current as { url: string }).url).pathname.split('/')[2];
    await failed.press('help');
    await failed.press('help', { step: 'open', description: 'The provider page would not load.', contact: 'by post please' });
    planted.caseRef = failed.html.match(/Your case reference is <strong>([0-9A-Z-]+)<\/strong>/)![1]!;

    // Every route, every caller.
    const callers = await makeCallers(fed);
    for (const caller of callers) {
      for (const { method, path } of await routesOf(fed)) {
        for (const concrete of fill(path, planted)) {
          const url = new URL(concrete, fed.issuer);
          const init: RequestInit =
            method === 'GET'
              ? { method }
              : { method, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(formFor(concrete, caller.csrf)).toString() };
          const response = await caller.fetch(url, init);
          const headers: string[] = [];
          response.headers.forEach((v, k) => headers.push(`${k}: ${v}`));
          const text = `${headers.join('\n')}\n${await getText(response)}`;
          answers.push({ caller: caller.name, method, path: concrete, status: response.status, text });
        }
      }
    }
  }, 600_000);
  afterAll(() => fed?.close());

  it('the planted values are at rest and findable: the citizen\'s own consent page shows them', () => {
    for (const value of ['Margaret', 'Okafor', 'EX1 2AB']) expect(consentPage).toContain(value);
  });

  it('walks every route the broker declares and every OpenID Provider endpoint, as every caller', async () => {
    const routes = await routesOf(fed);
    const declared = routes.map((r) => `${r.method} ${r.path}`);
    // The routes the walk knows must include the citizen's, the support console's and the provider's.
    for (const route of ['GET /journey/:uid', 'POST /journey/:uid/consent', 'GET /idp/:idpId/callback', 'GET /support/staff/cases/:ref', 'POST /support/staff/cases/:ref/:action', 'GET /support/staff/audit', 'GET /performance', 'GET /metrics']) {
      expect(declared).toContain(route);
    }
    expect(declared.some((d) => d.endsWith('/token'))).toBe(true);
    expect(declared.some((d) => d.endsWith('/me'))).toBe(true);
    const callers = new Set(answers.map((a) => a.caller));
    expect([...callers].sort()).toEqual(['agent', 'anonymous', 'auditor', 'service', 'supervisor']);
    // Every caller reached every route.
    for (const caller of callers) expect(new Set(answers.filter((a) => a.caller === caller).map((a) => a.path.split('?')[0])).size).toBeGreaterThanOrEqual(routes.length);
    // Staff did reach their console (signed in): the case page opened for the supervisor.
    const casePage = (who: string) => answers.find((a) => a.caller === who && a.method === 'GET' && a.path === `/support/staff/cases/${planted.caseRef}`);
    expect(casePage('supervisor')?.status).toBe(200);
    expect(casePage('supervisor')?.text).toContain(planted.caseRef);
    // The service's token did open userinfo.
    expect(answers.find((a) => a.caller === 'service' && a.method === 'GET' && a.path.endsWith('/me'))?.status).toBe(200);
  });

  it('no answer to anyone holds a planted attribute value', () => {
    const leaks = answers.flatMap((a) => PLANTED.filter((v) => a.text.includes(v)).map((v) => `${a.caller} ${a.method} ${a.path} (${a.status}): ${v}`));
    expect(leaks).toEqual([]);
  });
});

/** Every (method, path) the broker serves: its Koa routers' layers, and oidc-provider's endpoints. */
async function routesOf(fed: Federation): Promise<Array<{ method: string; path: string }>> {
  const broker = fed.brokers[0]!;
  const routers = broker.app.middleware.map((m) => (m as { router?: Router }).router).filter((r): r is Router => r !== undefined);
  expect(routers.length).toBeGreaterThanOrEqual(3); // operations, support, journey
  const out = new Map<string, { method: string; path: string }>();
  for (const router of routers) {
    for (const layer of router.stack) {
      for (const method of layer.methods.filter((m) => m !== 'HEAD' && m !== 'OPTIONS')) out.set(`${method} ${layer.path}`, { method, path: String(layer.path) });
    }
  }
  const discovery = (await (await fetch(`${fed.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  const endpoints = Object.entries(discovery).filter(([k, v]) => (k.endsWith('_endpoint') || k === 'jwks_uri') && typeof v === 'string' && String(v).startsWith(fed.issuer));
  for (const [, v] of endpoints) {
    const path = new URL(String(v)).pathname;
    for (const method of ['GET', 'POST']) out.set(`${method} ${path}`, { method, path });
  }
  out.set('GET /.well-known/openid-configuration', { method: 'GET', path: '/.well-known/openid-configuration' });
  // The authorization endpoint's resume path (after an interaction).
  const auth = new URL(String(discovery.authorization_endpoint)).pathname;
  out.set(`GET ${auth}/:uid`, { method: 'GET', path: `${auth}/:uid` });
  // Signing out last, so that staff walk every other route signed in.
  return [...out.values()].sort((a, b) => Number(a.path.includes('sign-out')) - Number(b.path.includes('sign-out')));
}

/** Concrete paths for a route template: every planted journey, case and provider that fits. */
function fill(path: string, planted: { consentUid?: string; failedUid?: string; caseRef?: string }): string[] {
  let paths = [path];
  const sub = (param: string, values: string[]) => {
    paths = paths.flatMap((p) => (p.includes(`:${param}`) ? values.map((v) => p.replace(`:${param}`, encodeURIComponent(v))) : [p]));
  };
  sub('uid', [planted.consentUid!, planted.failedUid!, 'no-such-journey-000000000000000']);
  sub('idpId', ['civic-id', 'swift-verify']);
  sub('ref', [planted.caseRef!]);
  sub('action', ['note', 'assign', 'escalate', 'resolve', 'reopen', 'close', 'export']);
  sub('token', ['no-such-invite']);
  sub('file', ['staff.js']);
  // Any other parameter, and wildcard patterns.
  return paths.map((p) => p.replace(/:[A-Za-z_]+[?]?/g, 'x').replace(/\(\.\*\)|\*/g, 'x'));
}

/** A form body that would drive each POST as far as the caller's rights allow. */
function formFor(path: string, csrf?: string): Record<string, string> {
  return {
    ...(csrf ? { csrf } : {}),
    decision: 'approve',
    provider: 'civic-id',
    reference: path.includes('/support/case') ? 'ZZZZ-ZZZZ-ZZZZ' : '',
    note: 'looking',
    outcome: 'resolved_other',
    step: 'open',
    grant_type: 'authorization_code',
    code: 'not-a-code',
    token: 'not-a-token',
  };
}

async function makeCallers(fed: Federation): Promise<Caller[]> {
  const anonymous = new BrowserClient();
  const callers: Caller[] = [{ name: 'anonymous', fetch: (url, init) => anonymous.fetch(url, init) }];

  // The service, holding an access token of its own from a journey it collected (Dylan's).
  const service = await fed.service();
  const citizen = new Citizen(fed);
  await citizen.start(service, { vtr: ['Cl.Cm.P2'] });
  await citizen.verifyWith('civic-id', 'dylan');
  await citizen.consent('approve');
  const back = citizen.current as { kind: 'service'; url: URL };
  const tokens = await client.authorizationCodeGrant(service.config, back.url, { pkceCodeVerifier: citizen.tx.codeVerifier, expectedState: citizen.tx.state, expectedNonce: citizen.tx.nonce, idTokenExpected: true });
  callers.push({
    name: 'service',
    fetch: (url, init) => fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${tokens.access_token}` } }),
  });

  for (const role of ['agent', 'supervisor', 'auditor'] as const) {
    const { url } = await fed.brokers[0]!.support.staff.invite(`Walk ${role}`, role);
    const member = new StaffMember(fed.issuer);
    expect((await member.enrol(url)).status).toBe(303);
    expect((await member.signIn()).response.status).toBe(303);
    const queue = (await member.page('/support/staff')).html;
    const csrf = queue.match(/name="csrf" value="([^"]+)"/)?.[1];
    expect(csrf, `${role} holds a CSRF token`).toBeTruthy();
    callers.push({ name: role, fetch: (u, init) => member.browser.fetch(u, init), ...(csrf ? { csrf } : {}) });
  }
  return callers;
}
