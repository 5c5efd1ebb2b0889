/** The simulator switches (issue 17): chosen level and scores, broken ID tokens, return codes, per identity. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scoresFromEvidence } from '@idbroker/policies';
import { BrowserClient } from '../../test/support/browser-client.js';
import { signInAtStub } from '../../test/support/idp-stub-driver.js';
import { configureStub, resetStub } from '../src/testing/index.js';
import { ADMIN_TOKEN, authRequest, brokerClient, exchange, startStub, type Started } from './helpers.js';

const evidenceClaims = JSON.stringify({ id_token: { verified_claims: { verification: { trust_framework: null, evidence: null }, claims: { given_name: null } } } });

describe('simulator switches', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startStub('civic-id');
  });
  afterAll(async () => {
    await s?.stub.close();
  });

  async function signIn(username = 'margaret') {
    const config = await brokerClient(s.stub);
    const req = await authRequest(config, s.redirectUri, { vtr: '["Cl.Cm.P2"]', claims: evidenceClaims });
    const back = await signInAtStub(new BrowserClient(), req.url, { username, password: 'demo-password' });
    return { config, req, back };
  }

  it('by default: the person’s own GPG 45 scores in the evidence, and amr', async () => {
    await resetStub(s.stub.url, ADMIN_TOKEN);
    const { config, req, back } = await signIn();
    const claims = (await exchange(config, back, req)).claims()!;
    expect(claims.amr).toEqual(['pwd', 'otp']);
    const vc = claims.verified_claims as { verification: { evidence: unknown } };
    expect(scoresFromEvidence(vc.verification.evidence)).toEqual({ evidence: [{ strength: 4, validity: 2 }], activity: 1, fraud: 2, verification: 2 });
  });

  it('a chosen level and score set, for one identity only', async () => {
    await configureStub(s.stub.url, ADMIN_TOKEN, { reset: true, identities: { margaret: { level: 'Cl.Cm.P2', scores: { evidence: [[2, 2]], activity: 0, fraud: 1, verification: 1 } } } });
    const m = await signIn('margaret');
    const mc = (await exchange(m.config, m.back, m.req)).claims()!;
    expect(mc.vot).toBe('Cl.Cm.P2');
    expect(scoresFromEvidence((mc.verified_claims as { verification: { evidence: unknown } }).verification.evidence)).toEqual({ evidence: [{ strength: 2, validity: 2 }], activity: 0, fraud: 1, verification: 1 });
    const d = await signIn('dylan');
    const dc = (await exchange(d.config, d.back, d.req)).claims()!;
    expect(scoresFromEvidence((dc.verified_claims as { verification: { evidence: unknown } }).verification.evidence)?.evidence).toEqual([{ strength: 3, validity: 2 }]);
    await configureStub(s.stub.url, ADMIN_TOKEN, { reset: true, scores: null });
    const n = await signIn('margaret');
    const nc = (await exchange(n.config, n.back, n.req)).claims()!;
    expect(scoresFromEvidence((nc.verified_claims as { verification: { evidence: unknown } }).verification.evidence)).toBeUndefined();
  });

  it.each([
    ['wrong-iss', /"iss"|issuer/i],
    ['wrong-aud', /"aud"|audience/i],
    ['wrong-nonce', /nonce/i],
    ['no-nonce', /nonce/i],
    ['expired', /"exp"|expired|timestamp/i],
    ['future', /"nbf"|"iat"|future|not yet valid/i],
    ['wrong-signature', /signature|jwks|key/i],
  ] as const)('fail %s: the ID token is refused by an ordinary client', async (fail, why) => {
    await configureStub(s.stub.url, ADMIN_TOKEN, { reset: true, fail });
    const { config, req, back } = await signIn();
    const e = (await exchange(config, back, req).then(() => undefined, (x: unknown) => x)) as (Error & { cause?: { claim?: string; message?: string; code?: string } }) | undefined;
    expect(e).toBeInstanceOf(Error);
    expect(`${e!.message} ${JSON.stringify(e!.cause?.claim ?? '')} ${e!.cause?.message ?? ''} ${e!.cause?.code ?? ''}`).toMatch(why);
  });

  it('return codes end the authorization with access_denied naming them; bad settings are refused', async () => {
    await configureStub(s.stub.url, ADMIN_TOKEN, { reset: true, identities: { margaret: { returnCodes: ['X', 'Z'] } } });
    const { back } = await signIn();
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('error_description')).toBe('return_code: X Z');
    await expect(configureStub(s.stub.url, ADMIN_TOKEN, { level: 'P2' })).rejects.toThrow(/level must be a vector/);
    await expect(configureStub(s.stub.url, ADMIN_TOKEN, { scores: { evidence: [[5, 2]], activity: 0, fraud: 0, verification: 0 } })).rejects.toThrow(/scores.evidence.0.0/);
    await expect(configureStub(s.stub.url, 'wrong-token', { reset: true })).rejects.toThrow(/401/);
    await resetStub(s.stub.url, ADMIN_TOKEN);
  });
});
