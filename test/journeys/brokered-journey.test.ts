/**
 * Whole brokered journeys over HTTP: openid-client as the service, a cookie jar as the
 * citizen, real IdP stubs, the broker with the in-memory store and with Redis.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { decodeProtectedHeader } from 'jose';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';

const ATTRIBUTES = ['given_name', 'family_name', 'birthdate', 'address'];

for (const storeKind of ['memory', 'redis'] as const) {
  describe(`a brokered journey (${storeKind} store)`, () => {
    let fed: Federation;
    beforeAll(async () => {
      fed = await startFederation(storeKind === 'redis' ? { redisUrl: inject('redisUrl') } : {});
    });
    afterAll(() => fed?.close());

    it.each([
      ['civic-id', 'margaret', ['Cl.Cm.P2'], 'code'],
      ['swift-verify', 'dylan', ['Cl.Cm.P2'], 'code'],
      ['community-vouch', 'sam', ['Cl.P1'], undefined],
    ] as const)('through %s as %s at %j', async (idp, username, vtr, secondFactor) => {
      const service = await fed.service();
      const citizen = new Citizen(fed);
      const picker = await citizen.start(service, { vtr: [...vtr], attributes: ATTRIBUTES });
      expect(picker).toMatchObject({ kind: 'page', status: 200 });
      expect(citizen.html).toContain('name="provider"');

      const consent = await citizen.signIn(await citizen.choose(idp), { username, ...(secondFactor ? { secondFactor } : {}) });
      expect(consent).toMatchObject({ kind: 'page', status: 200 });
      expect(citizen.html).toContain('Pay your council tax');

      const back = await citizen.consent('approve');
      expect(back.kind).toBe('service');
      const { claims, idToken, userinfo } = await citizen.collect();

      expect(decodeProtectedHeader(idToken).alg).toBe('ES256');
      expect(claims.iss).toBe(fed.issuer);
      expect(claims.aud).toBe('example-council-tax');
      expect(claims.vot).toBe(vtr[0]);
      expect(claims.vtm).toBe(`${fed.issuer}/trustmark`);
      expect(claims.txn).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]$/);
      const verified = claims.verified_claims as { verification: Record<string, unknown>; claims: Record<string, unknown> };
      expect(verified.verification.trust_framework).toBe('uk_diatf');
      expect(Object.keys(verified.claims).sort()).toEqual([...ATTRIBUTES].sort());
      expect(typeof verified.claims.given_name).toBe('string');
      expect(userinfo.sub).toBe(claims.sub);
      // The journey's state is gone once the service has its tokens.
      expect(fed.brokers[0]!.store.kind).toBe(storeKind);
    });

    it('the consent page shows each attribute with its value before anything is shared', async () => {
      const citizen = new Citizen(fed);
      await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'], attributes: ['given_name', 'birthdate'] });
      await citizen.verifyWith('civic-id', 'margaret');
      expect(citizen.html).toContain('Margaret');
      expect(citizen.html).toContain('14 March 1958');
      expect(citizen.html).not.toContain('Okafor'); // family_name was not asked for
    });

    it('a citizen who does not consent releases nothing: the service gets access_denied with the journey reference', async () => {
      const citizen = new Citizen(fed);
      await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
      await citizen.verifyWith('civic-id', 'margaret');
      const failure = await citizen.consent('cancel');
      expect(failure).toMatchObject({ kind: 'page', status: 200 });
      const back = await citizen.press('return');
      expect(back.kind).toBe('service');
      const url = (back as { url: URL }).url;
      expect(url.searchParams.get('error')).toBe('access_denied');
      expect(url.searchParams.get('error_reason')).toBe('cancelled');
      expect(url.searchParams.get('txn')).toMatch(/^[0-9A-Z-]{16}$/);
      expect(url.searchParams.get('state')).toBe(citizen.tx.state);
      expect(url.searchParams.get('iss')).toBe(fed.issuer);
      expect(url.searchParams.get('code')).toBeNull();
    });
  });
}

describe('two broker instances on one Redis', () => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation({ redisUrl: inject('redisUrl'), brokers: 2 });
  });
  afterAll(() => fed?.close());

  it('complete a journey whose requests alternate between them', async () => {
    const citizen = new Citizen(fed, { alternate: true });
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    await citizen.verifyWith('swift-verify', 'margaret');
    expect(citizen.html).toContain('Margaret');
    await citizen.consent('approve');
    const { claims } = await citizen.collect();
    expect(claims.vot).toBe('Cl.Cm.P2');
    // Both instances served steps of the journey.
    for (const lines of fed.instanceLogs) {
      const journeySteps = lines.map((l) => JSON.parse(l) as { msg: string; path?: string }).filter((l) => l.msg === 'request' && l.path?.startsWith('/journey/'));
      expect(journeySteps.length).toBeGreaterThan(0);
    }
  });
});
