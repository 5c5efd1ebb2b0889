/**
 * Issue 17: the level is decided from evidence (GPG 45 scores against the profiles in
 * levels.yaml and the IdP's certificate; amr against the GPG 44 authenticator sets), never
 * from the IdP's label alone; a certificate withdrawn from the register stops the IdP at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { evidenceWithScores, type Gpg45Scores, type Vector } from '@idbroker/policies';
import { UpstreamError, type UpstreamFailure } from './index.js';
import { setup, type Setup } from './test-setup.js';

const P1: Vector = { authentication: 'Cl', confidence: 'P1' };
const P2: Vector = { authentication: 'Cl.Cm', confidence: 'P2' };

let s: Setup | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

async function journey(requested: Vector[] = [P2], idpId = 'civic-id') {
  const begun = await s!.idps.beginAuthorization(idpId, { requested, attributes: ['given_name'] });
  const callback = await s!.rogues[idpId]!.authorize(begun.url);
  return s!.idps.completeAuthorization(idpId, callback, begun.secrets);
}

async function refused(promise: Promise<unknown>, reason: UpstreamFailure): Promise<UpstreamError> {
  const e = await promise.then((ok) => ({ accepted: ok }), (x: unknown) => x);
  expect(e).toBeInstanceOf(UpstreamError);
  expect((e as UpstreamError).reason).toBe(reason);
  return e as UpstreamError;
}

const scores = (evidence: Array<[number, number]>, activity: number, fraud: number, verification: number): Gpg45Scores => ({
  evidence: evidence.map(([strength, validity]) => ({ strength, validity })),
  activity,
  fraud,
  verification,
});
const withScores = (sc: Gpg45Scores) => [{ type: 'document', document_details: { type: 'passport' } }, ...evidenceWithScores(sc)];

describe('confidence from GPG 45 scores', () => {
  it('the exact M1A tuple passes; one point short anywhere fails level_not_met', async () => {
    s = await setup();
    const rogue = s.rogues['civic-id']!;
    rogue.setIdentity({ vot: 'Cl.Cm.P2', evidence: withScores(scores([[4, 2]], 0, 1, 2)) });
    expect((await journey()).vot).toBe('Cl.Cm.P2');
    for (const short of [scores([[3, 2]], 0, 1, 2), scores([[4, 1]], 0, 1, 2), scores([[4, 2]], 0, 0, 2), scores([[4, 2]], 0, 1, 1)]) {
      rogue.setIdentity({ vot: 'Cl.Cm.P2', evidence: withScores(short) });
      const e = await refused(journey(), 'level_not_met');
      expect(e.detail).toMatch(/meet no P2 profile/);
    }
  });

  it('a label without scores, or with a bad score, is refused', async () => {
    s = await setup();
    const rogue = s.rogues['civic-id']!;
    rogue.setIdentity({ vot: 'Cl.Cm.P2', evidence: null });
    expect((await refused(journey(), 'level_not_met')).detail).toContain('without GPG 45 scores');
    rogue.setIdentity({ vot: 'Cl.Cm.P2', evidence: [{ type: 'document', strengthScore: 9, validityScore: 2 }] });
    expect((await refused(journey(), 'invalid_response')).detail).toContain('evidence.0.strengthScore');
  });

  it('a provider claiming beyond its certificate: a P2 profile it is not certified for (M1D) does not count', async () => {
    s = await setup();
    const rogue = s.rogues['civic-id']!;
    // M1D [22], 2, 1, 3 is a medium profile, but civic-id's certificate lists M1A, M1B, M1C, M2B only.
    rogue.setIdentity({ vot: 'Cl.Cm.P2', evidence: withScores(scores([[2, 2]], 2, 1, 3)) });
    const e = await refused(journey(), 'level_not_met');
    expect(e.detail).toMatch(/not certified for the P2 it claims: scores \[22\], 2, 1, 3 meet M1D/);
  });

  it('a label lower than the evidence is taken as it is', async () => {
    s = await setup();
    s.rogues['civic-id']!.setIdentity({ vot: 'Cl.P1', evidence: withScores(scores([[4, 2]], 0, 1, 2)) });
    expect((await journey([P1])).vot).toBe('Cl.P1');
  });
});

describe('authentication from amr', () => {
  it('Cl.Cm claimed with a password only (amr pwd) fails; without amr fails; pwd+otp passes', async () => {
    s = await setup();
    const rogue = s.rogues['civic-id']!;
    rogue.setIdentity({ vot: 'Cl.Cm.P2', amr: ['pwd'] });
    expect((await refused(journey(), 'level_not_met')).detail).toMatch(/claims Cl.Cm: amr \[pwd\] meets Cl/);
    rogue.setIdentity({ vot: 'Cl.Cm.P2', amr: null });
    expect((await refused(journey(), 'level_not_met')).detail).toMatch(/meets no authentication level/);
    rogue.setIdentity({ vot: 'Cl.Cm.P2', amr: ['pwd', 'otp'] });
    expect((await journey()).vot).toBe('Cl.Cm.P2');
  });
});

describe('the certificate at the moment of return', () => {
  it('withdrawn from the register mid-journey: refused on return, and no longer offered', async () => {
    s = await setup({ livePolicies: true });
    const begun = await s.idps.beginAuthorization('civic-id', { requested: [P2], attributes: [] });
    const callback = await s.rogues['civic-id']!.authorize(begun.url);
    const record = s.policies.identityProvider('civic-id')!.certification;
    s.files.changeIdp('civic-id', { certification: { ...record, register: { ...record.register, status: 'withdrawn', withdrawn_on: '2026-06-01' } } });
    const e = await refused(s.idps.completeAuthorization('civic-id', callback, begun.secrets), 'level_not_met');
    expect(e.detail).toContain('withdrawn');
    expect(s.idps.offer([P2]).find((o) => o.policy.id === 'civic-id')).toMatchObject({ offered: false, reason: 'certificate_withdrawn' });
    await expect(s.idps.beginAuthorization('civic-id', { requested: [P2], attributes: [] })).rejects.toMatchObject({ reason: 'level_not_met' });
  });

  it('offered only for levels its certified profiles reach', async () => {
    s = await setup({ rogues: [] });
    const p3: Vector = { authentication: 'Cl.Cm', confidence: 'P3' };
    const offers = s.idps.offer([p3]).filter((o) => o.offered).map((o) => o.policy.id);
    expect(offers).toEqual(['swift-verify']);
    expect(s.idps.offer([P1]).find((o) => o.policy.id === 'community-vouch')?.offered).toBe(true);
    expect(s.idps.offer([P2]).find((o) => o.policy.id === 'community-vouch')).toMatchObject({ offered: false, reason: 'not_certified_for_level' });
  });
});
