/** The ways forward a citizen has when they cannot, or did not in time, verify. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subjectFor } from '@idbroker/idp-stub';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';
import { visibleText } from '../support/text.js';

const MARGARET = ['Margaret', 'Okafor', '1958-03-14', 'EX1 2AB'];

describe('ways forward', () => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation({ idps: ['civic-id', 'community-vouch'] });
  });
  afterAll(() => fed?.close());

  it('"I cannot use any of these" reaches the service\'s other ways at once, and can go back to the service', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    const otherWays = await citizen.visit(new URL(`${(citizen.current as { url: string }).url}/other-ways`));
    expect(otherWays).toMatchObject({ kind: 'page', status: 200 });
    expect(citizen.html).toContain('0300 123 4567');
    const back = await citizen.press('return');
    const url = (back as { url: URL }).url;
    expect(url.searchParams.get('error')).toBe('access_denied');
    expect(url.searchParams.get('error_reason')).toBe('no_provider');
    expect(url.searchParams.get('code')).toBeNull();
  });

  it('a journey left too long times out: the citizen is told, and the service gets timed_out', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    const picker = (citizen.current as { url: string }).url;
    fed.clock.advance(86 * 60 * 1000);
    const page = await citizen.visit(picker);
    expect((page as { url: string }).url).toMatch(/\/failure$/);
    expect(citizen.html).toContain('Your session has timed out');
    const back = await citizen.press('return');
    expect((back as { url: URL }).url.searchParams.get('error_reason')).toBe('timed_out');
  });

  it('the audit trail holds every transition of a journey, without personal data, and its chain verifies', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    await citizen.verifyWith('civic-id', 'margaret');
    await citizen.consent('approve');
    const { claims } = await citizen.collect();
    const events = await fed.brokers[0]!.audit.list({ journey: String(claims.txn) });
    expect(events.map((e) => e.type)).toEqual([
      'journey.started',
      'journey.idpChosen',
      'journey.idpReturned',
      'journey.consentGiven',
      'journey.signedInWithoutMatching',
      'journey.delivered',
    ]);
    const text = JSON.stringify(events);
    for (const value of ['Margaret', 'Okafor', '1958-03-14', 'EX1 2AB']) expect(text).not.toContain(value);
    expect(await fed.brokers[0]!.audit.verify()).toMatchObject({ ok: true });
  });

  it('a provider that flags fraud ends on a plain-language page with ways forward; the service gets access_denied carrying the journey reference, and nothing else', async () => {
    const stub = fed.idps['civic-id']!;
    // The operator's switch at the stub (token-guarded admin endpoint): ID tokens carry ci: ["fraud.suspected"].
    const turn = (fail: string) =>
      fetch(`${stub.issuer}/admin/switches`, { method: 'POST', headers: { authorization: 'Bearer test-admin-token', 'content-type': 'application/json' }, body: JSON.stringify({ fail }) });
    expect((await turn('fraud')).status).toBe(200);
    const citizen = new Citizen(fed);
    let picker: string;
    try {
      await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
      picker = (citizen.current as { url: string }).url;
      await citizen.verifyWith('civic-id', 'margaret');
    } finally {
      expect((await turn('none')).status).toBe(200);
    }
    // The stub did complete the sign-in and the broker took the tokens: the refusal is the broker's.
    expect(stub.requests.some((r) => r.method === 'POST' && r.url.startsWith('/token'))).toBe(true);

    // The failure page for this outcome, in plain words that accuse nobody.
    expect(citizen.current).toMatchObject({ kind: 'page', status: 200 });
    const failurePage = (citizen.current as { url: string }).url;
    expect(failurePage).toMatch(/\/journey\/[^/]+\/failure$/);
    const text = visibleText(citizen.html);
    expect(text).toContain('We could not complete your identity check online');
    expect(text).toContain('Your identity check could not be completed online this time.');
    expect(text).not.toMatch(/fraud|suspicio|contra-indicator|criminal/i);
    // Its reference, for anyone helping; ways forward: the service's other ways, help, going back.
    const ref = /Your reference is ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]) ?\./.exec(text)?.[1];
    expect(ref).toBeDefined();
    expect(text).toContain('0300 123 4567');
    expect(citizen.html).toContain('id="help-form"');
    expect(citizen.html).toContain('id="return-form"');
    // Another provider is not offered after a fraud flag, and cannot be forced.
    expect(citizen.html).not.toContain('id="another-form"');
    expect(citizen.html).not.toContain('Try another identity provider');
    const forced = await citizen.browser.fetch(failurePage.replace(/\/failure$/, '/another'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: /name="csrf" value="([^"]+)"/.exec(citizen.html)![1]! }).toString(),
    });
    expect(forced.status).toBe(400);
    await forced.body?.cancel();
    expect(await citizen.visit(picker)).toMatchObject({ kind: 'page', url: failurePage, status: 200 });
    // Nothing about the person is shown.
    for (const value of MARGARET) expect(citizen.html).not.toContain(value);

    // Back at the service: an OIDC error with the journey reference; no code, nothing released.
    const back = await citizen.press('return');
    expect(back.kind).toBe('service');
    const url = (back as { url: URL }).url;
    expect(url.origin + url.pathname).toBe(citizen.service.redirectUri);
    expect(url.searchParams.get('error')).toBe('access_denied');
    expect(url.searchParams.get('error_reason')).toBe('fraud_flagged');
    expect(url.searchParams.get('error_description')).not.toMatch(/fraud/i);
    expect(url.searchParams.get('txn')).toBe(ref);
    expect(url.searchParams.get('state')).toBe(citizen.tx.state);
    expect(url.searchParams.get('iss')).toBe(fed.issuer);
    expect(url.searchParams.get('code')).toBeNull();
    expect(url.searchParams.get('id_token')).toBeNull();
    // The journey is gone: nothing of it is left to release, and its pages are closed.
    const uid = /\/journey\/([^/]+)\/failure$/.exec(failurePage)![1]!;
    for await (const { key } of fed.brokers[0]!.store.dump()) {
      expect(key).not.toContain(uid);
      expect(key).not.toMatch(/^delivery:/);
    }
    // Back into it: closed, and it says truthfully how it ended (from this browser's own cookie).
    expect(await citizen.visit(failurePage)).toMatchObject({ kind: 'page', status: 200 });
    expect(visibleText(citizen.html)).toContain('You went back to Pay your council tax (Example Borough Council). Nothing about you was shared.');

    // The audit trail: every transition, the outcome named, nothing about the person.
    const events = await fed.brokers[0]!.audit.list({ journey: ref! });
    expect(events.map((e) => e.type)).toEqual(['journey.started', 'journey.idpChosen', 'journey.idpFailed']);
    expect(events.at(-1)).toMatchObject({ data: { from: 'atProvider', to: 'failed', idp: 'civic-id', reason: 'fraud_flagged' } });
    const trail = JSON.stringify(events);
    for (const value of [...MARGARET, subjectFor('civic-id', 'margaret'), 'fraud.suspected']) expect(trail).not.toContain(value);
    expect(await fed.brokers[0]!.audit.verify()).toMatchObject({ ok: true });
    // Nor in the logs.
    const logs = fed.logs.join('\n');
    for (const value of [...MARGARET, subjectFor('civic-id', 'margaret')]) expect(logs).not.toContain(value);
    // Operators see the outcome, by provider.
    const metrics = await (await fetch(`${fed.issuer}/metrics`)).text();
    expect(metrics).toMatch(/broker_idp_journeys_finished_total\{idp="civic-id",outcome="fraud_flagged"\} 1\n/);
    expect(metrics).toMatch(/broker_service_journeys_finished_total\{service="example-council-tax",outcome="fraud_flagged"\} 1\n/);
  });
});
