/** Every bad return from an IdP is refused, with the reason the journey needs and a detail without personal data. */
import { afterEach, describe, expect, it } from 'vitest';
import { SignJWT, generateKeyPair, type JWTPayload } from 'jose';
import type { Vector } from '@idbroker/policies';
import type { IdTokenBuilder } from '../../../test/support/rogue-idp.js';
import { UpstreamError, type UpstreamFailure } from './index.js';
import { setup, type Setup } from './test-setup.js';

const P2: Vector = { authentication: 'Cl.Cm', confidence: 'P2' };
const PERSONAL = /Margaret|Okafor|1958|Station Road|EX1/;

let s: Setup | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

async function journey(idpId = 'civic-id', attributes: Array<'given_name' | 'family_name' | 'birthdate'> = ['given_name', 'birthdate']) {
  const begun = await s!.idps.beginAuthorization(idpId, { requested: [P2], attributes });
  const callback = await s!.rogues[idpId]!.authorize(begun.url);
  return { ...begun, callback, complete: (cb = callback) => s!.idps.completeAuthorization(idpId, cb, begun.secrets) };
}

async function refused(promise: Promise<unknown>, reason: UpstreamFailure): Promise<UpstreamError> {
  const e = await promise.then(
    (ok) => ({ accepted: ok }),
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(UpstreamError);
  const error = e as UpstreamError;
  expect({ reason: error.reason, detail: error.detail }).toEqual({ reason, detail: expect.any(String) });
  expect(error.detail).not.toMatch(PERSONAL);
  return error;
}

async function withToken(builder: IdTokenBuilder, reason: UpstreamFailure, detail: RegExp) {
  s!.rogues['civic-id']!.setIdToken(builder);
  const j = await journey();
  const e = await refused(j.complete(), reason);
  expect(e.detail).toMatch(detail);
  return e;
}

describe('ID tokens that must be refused', () => {
  it('a token signed by another key (same kid)', async () => {
    s = await setup();
    const other = await generateKeyPair('ES256');
    await withToken((ctx) => ctx.sign(ctx.claims as JWTPayload, { key: other.privateKey }), 'invalid_response', /signature verification failed/);
  });

  it('an unsecured token (alg none)', async () => {
    s = await setup();
    await withToken((ctx) => ctx.unsecured(ctx.claims), 'invalid_response', /"alg"/);
  });

  it('HS256 with the IdP public key as the shared secret (algorithm confusion)', async () => {
    s = await setup();
    const jwk = s.rogues['civic-id']!.keys.publicJwk;
    await withToken(
      (ctx) => new SignJWT(ctx.claims as JWTPayload).setProtectedHeader({ alg: 'HS256', kid: jwk.kid! }).sign(new TextEncoder().encode(JSON.stringify(jwk))),
      'invalid_response', /"alg"/,
    );
  });

  it('a wrong audience', async () => {
    s = await setup();
    await withToken((ctx) => ctx.sign({ ...ctx.claims, aud: 'example-council-tax' } as JWTPayload), 'invalid_response', /"aud"/);
  });

  it('a wrong issuer', async () => {
    s = await setup();
    await withToken((ctx) => ctx.sign({ ...ctx.claims, iss: 'http://127.0.0.1:1' } as JWTPayload), 'invalid_response', /"iss"/);
  });

  it('an expired token', async () => {
    s = await setup();
    await withToken((ctx) => ctx.sign({ ...ctx.claims, iat: ctx.now - 3600, auth_time: ctx.now - 3600, exp: ctx.now - 1800 } as JWTPayload), 'invalid_response', /"exp"/);
  });

  it('a token issued an hour in the future (iat)', async () => {
    s = await setup();
    await withToken((ctx) => ctx.sign({ ...ctx.claims, iat: ctx.now + 3600, auth_time: ctx.now, exp: ctx.now + 7200 } as JWTPayload), 'invalid_response', /"iat"/);
  });

  it('a token issued a few seconds ahead (clock skew within a minute) is accepted', async () => {
    s = await setup();
    s.rogues['civic-id']!.setIdToken((ctx) => ctx.sign({ ...ctx.claims, iat: ctx.now + 20 } as JWTPayload));
    const j = await journey();
    await expect(j.complete()).resolves.toMatchObject({ idpId: 'civic-id' });
  });

  it('a nonce replayed from an earlier journey', async () => {
    s = await setup();
    const earlier = await journey();
    await earlier.complete();
    await withToken((ctx) => ctx.sign({ ...ctx.claims, nonce: earlier.secrets.nonce } as JWTPayload), 'invalid_response', /"nonce"/);
  });

  it('a token without a nonce', async () => {
    s = await setup();
    await withToken((ctx) => ctx.sign({ ...ctx.claims, nonce: undefined } as JWTPayload), 'invalid_response', /nonce/);
  });

  it('no verified_claims when attributes were asked for', async () => {
    s = await setup();
    await withToken((ctx) => ctx.sign({ ...ctx.claims, verified_claims: undefined } as JWTPayload), 'invalid_response', /verified_claims missing/);
  });

  it('verified_claims under another trust framework', async () => {
    s = await setup();
    await withToken(
      (ctx) => ctx.sign({ ...ctx.claims, verified_claims: { verification: { trust_framework: 'eidas' }, claims: { given_name: 'Margaret' } } } as JWTPayload),
      'invalid_response', /trust_framework/,
    );
  });

  it('no level reached named (neither vot nor acr)', async () => {
    s = await setup();
    await withToken((ctx) => ctx.sign({ ...ctx.claims, vot: undefined, acr: undefined } as JWTPayload), 'invalid_response', /no level/);
  });

  it('a lower vot than asked for', async () => {
    s = await setup();
    s.rogues['civic-id']!.setIdentity({ vot: 'Cl.P1' });
    await refused((await journey()).complete(), 'level_not_met');
  });

  it('a vot above what the IdP is certified for', async () => {
    s = await setup(); // civic-id is certified for P2 only
    s.rogues['civic-id']!.setIdentity({ vot: 'Cl.Cm.Cp.P3' });
    const e = await refused((await journey()).complete(), 'level_not_met');
    expect(e.detail).toContain('not certified');
  });

  it('contra-indicators (ci) are fraud-flagged', async () => {
    s = await setup();
    s.rogues['civic-id']!.setIdentity({ ci: ['fraud.suspected'] });
    await refused((await journey()).complete(), 'fraud_flagged');
  });
});

describe('responses that must be refused', () => {
  it('a replayed code: the IdP refuses the second exchange', async () => {
    s = await setup();
    const j = await journey();
    await j.complete();
    const e = await refused(j.complete(), 'invalid_response');
    expect(e.detail).toContain('invalid_grant');
    const tokens = s.rogues['civic-id']!.requests.filter((r) => r.endpoint === 'token');
    expect(tokens).toHaveLength(2);
  });

  it('a state that does not match the journey (no code exchange)', async () => {
    s = await setup();
    const j = await journey();
    const cb = new URL(j.callback);
    cb.searchParams.set('state', 'someone-elses-state');
    await refused(j.complete(cb), 'invalid_response');
    expect(s.rogues['civic-id']!.requests.filter((r) => r.endpoint === 'token')).toHaveLength(0);
  });

  it('an error response with a state that does not match is not taken as a cancellation', async () => {
    s = await setup();
    const j = await journey();
    const cb = new URL(`${j.callback.origin}${j.callback.pathname}?error=access_denied&state=forged&iss=${encodeURIComponent(s.rogues['civic-id']!.issuer)}`);
    await refused(j.complete(cb), 'invalid_response');
  });

  it('mix-up: the callback for one IdP carrying the iss of another', async () => {
    s = await setup({ rogues: ['civic-id', 'swift-verify'] });
    const swift = s.rogues['swift-verify']!;
    s.rogues['civic-id']!.setAuthorizationResponse((p) => (p.set('iss', swift.issuer), p));
    const j = await journey();
    const e = await refused(j.complete(), 'invalid_response');
    expect(e.detail).toContain('mix-up');
    expect(s.rogues['civic-id']!.requests.filter((r) => r.endpoint === 'token')).toHaveLength(0);
    expect(swift.requests.filter((r) => r.endpoint === 'token')).toHaveLength(0);
  });

  it('a response without iss from an IdP that promises it (RFC 9207)', async () => {
    s = await setup();
    s.rogues['civic-id']!.setAuthorizationResponse((p) => (p.delete('iss'), p));
    const e = await refused((await journey()).complete(), 'invalid_response');
    expect(e.detail).toContain('"iss"');
    expect(s.rogues['civic-id']!.requests.filter((r) => r.endpoint === 'token')).toHaveLength(0);
  });

  it('secrets of a journey at another IdP, or a callback on another IdP path', async () => {
    s = await setup({ rogues: ['civic-id', 'swift-verify'] });
    const j = await journey();
    await refused(s.idps.completeAuthorization('swift-verify', j.callback, j.secrets), 'invalid_response');
    const wrongPath = new URL(j.callback.href.replace('/idp/civic-id/', '/idp/swift-verify/'));
    await refused(j.complete(wrongPath), 'invalid_response');
  });

  it('claims that were not asked for are dropped', async () => {
    s = await setup();
    s.rogues['civic-id']!.setIdToken((ctx) =>
      ctx.sign({
        ...ctx.claims,
        verified_claims: {
          verification: (ctx.claims.verified_claims as { verification: Record<string, unknown> }).verification,
          claims: { given_name: 'Margaret', birthdate: '1958-03-14', family_name: 'Okafor', email: 'm@example.org', unknown_thing: 'x' },
        },
      } as JWTPayload),
    );
    const identity = await (await journey()).complete();
    expect(identity.verifiedClaims.claims).toEqual({ given_name: 'Margaret', birthdate: '1958-03-14' });
  });

  it('the token endpoint failing (500) or unreachable is provider_failed', async () => {
    s = await setup();
    const rogue = s.rogues['civic-id']!;
    const j = await journey();
    rogue.setMode('error');
    await refused(j.complete(), 'provider_failed');
    const k = await (rogue.setMode('ok'), journey());
    rogue.setMode('down');
    await refused(k.complete(), 'provider_failed');
  });

  it('a token endpoint slower than the request timeout is provider_failed', async () => {
    s = await setup({ upstream: { requestTimeoutMs: 1000 }, rogue: { slowMs: 20_000 } });
    const rogue = s.rogues['civic-id']!;
    const j = await journey();
    rogue.setMode('slow');
    const e = await refused(j.complete(), 'provider_failed');
    expect(e.detail).toContain('timed out');
  });
});

describe('certification at the moment of return', () => {
  it('a certification that expires between begin and complete is refused on return', async () => {
    s = await setup({ policyChanges: { idps: { 'civic-id': { certification_expires: '2026-06-01' } } } });
    const j = await journey(); // the clock says 2026-06-01T12:00Z: still certified
    s.clock.advance(24 * 3600 * 1000);
    const e = await refused(j.complete(), 'level_not_met');
    expect(e.detail).toContain('expired');
  });

  it('an IdP suspended between begin and complete is refused on return, as the provider\'s failure (not a level the person did not reach)', async () => {
    s = await setup({ livePolicies: true });
    const j = await journey();
    s.files.changeIdp('civic-id', { status: 'suspended' });
    const e = await refused(j.complete(), 'provider_failed');
    expect(e.detail).toContain('no longer enabled');
    // Its code is not redeemed: nothing more is taken from a suspended provider.
    expect(s.rogues['civic-id']!.requests.filter((r) => r.endpoint === 'token')).toEqual([]);
  });
});
