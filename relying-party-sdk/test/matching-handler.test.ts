import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT, UnsecuredJWT } from 'jose';
import { freePort } from '../../test/support/ports.js';
import { createMatchingHandler, memoryReplayCache, type MatchingHandlerOptions, type MatchingIdentity } from '../src/index.js';
import { checkMatchResponseClaims, MATCH_RESPONSE_TYP } from '../src/protocol.js';
import { newKey, startFakeOp, type FakeOp, type SigningKey } from '../src/testing.js';

const CLIENT_ID = 'test-service';
let op: FakeOp;
let service: SigningKey;
const servers: Server[] = [];
const seen: MatchingIdentity[] = [];

async function endpoint(options: Partial<MatchingHandlerOptions> = {}): Promise<string> {
  const handler = createMatchingHandler({
    brokerIssuer: op.issuer,
    clientId: CLIENT_ID,
    privateKey: service.privateJwk,
    match: async (who) => {
      seen.push(who);
      if (who.attributes.family_name === 'Okafor') return { result: 'match', accountRef: 'ACC-1' };
      if (who.attributes.family_name === 'Evans') return who.extra.ni_number === 'QQ123456C' ? { result: 'match', accountRef: 'ACC-2' } : { result: 'need-attribute', attribute: 'ni_number' };
      if (who.attributes.family_name === 'Boom') throw new Error('database down');
      return { result: 'no-match' };
    },
    ...options,
  });
  const server = createServer(handler);
  servers.push(server);
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${port}/matching`;
}

const post = (url: string, body: string, type = 'application/jwt') => fetch(url, { method: 'POST', headers: { 'content-type': type }, body });

async function verifyAnswer(response: Response) {
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('application/jwt');
  const jwt = await response.text();
  expect(decodeProtectedHeader(jwt)).toMatchObject({ alg: 'ES256', typ: MATCH_RESPONSE_TYP, kid: service.kid });
  const { payload } = await jwtVerify(jwt, createLocalJWKSet({ keys: [service.publicJwk] }), { issuer: CLIENT_ID, audience: op.issuer, typ: MATCH_RESPONSE_TYP, algorithms: ['ES256'] });
  expect(checkMatchResponseClaims(payload)).toBeUndefined();
  return payload;
}

async function expectRefused(response: Response, status: number, error: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await response.json()) as { error: string; error_description: string };
  expect(body.error).toBe(error);
  expect(body.error_description.length).toBeGreaterThan(0);
}

beforeAll(async () => {
  op = await startFakeOp();
  service = await newKey();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise<void>((r) => (s.close(() => r()), s.closeAllConnections()))));
  await op.close();
});

describe('matching handler: verified requests get signed answers', () => {
  it('answers match with the account reference, echoing jti and txn, signed by the service key', async () => {
    const url = await endpoint();
    const request = await op.matchRequest(CLIENT_ID, { txn: 'JRN-42' });
    const jti = (JSON.parse(Buffer.from(request.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;
    const payload = await verifyAnswer(await post(url, request));
    expect(payload).toMatchObject({ result: 'match', account_ref: 'ACC-1', in_response_to: jti, txn: 'JRN-42' });
    expect(typeof payload.jti).toBe('string');
    expect(payload.exp! - payload.iat!).toBe(60);
    const who = seen.at(-1)!;
    expect(who).toMatchObject({ subject: 'pairwise-subject-1', level: 'Cl.Cm.P2', journeyReference: 'JRN-42', attempt: 1, extra: {} });
    expect(who.attributes).toMatchObject({ given_name: 'Margaret', birthdate: '1958-03-14', address: { postal_code: 'EX1 2AB' } });
  });

  it('answers no-match and need-attribute, then match with the normalised extra detail', async () => {
    const url = await endpoint();
    const other = { verification: { trust_framework: 'uk_diatf' }, claims: { given_name: 'Priya', family_name: 'Shah', birthdate: '1985-11-23' } };
    expect(await verifyAnswer(await post(url, await op.matchRequest(CLIENT_ID, { verified_claims: other })))).toMatchObject({ result: 'no-match' });
    const dylan = { verification: { trust_framework: 'uk_diatf' }, claims: { given_name: 'Dylan Rhys', family_name: 'Evans', birthdate: '1990-07-02' } };
    const first = await verifyAnswer(await post(url, await op.matchRequest(CLIENT_ID, { verified_claims: dylan })));
    expect(first).toMatchObject({ result: 'need-attribute', attribute: 'ni_number' });
    expect(first.account_ref).toBeUndefined();
    const second = await verifyAnswer(await post(url, await op.matchRequest(CLIENT_ID, { verified_claims: dylan, attempt: 2, extra_attributes: { ni_number: 'qq 12 34 56 c' } })));
    expect(second).toMatchObject({ result: 'match', account_ref: 'ACC-2' });
    expect(seen.at(-1)!.extra).toEqual({ ni_number: 'QQ123456C' });
  });

  it('answers create requests with created when account creation is on, no-match when it is off', async () => {
    const off = await endpoint();
    expect(await verifyAnswer(await post(off, await op.matchRequest(CLIENT_ID, { mode: 'create' })))).toMatchObject({ result: 'no-match' });
    const on = await endpoint({ createAccount: async (who) => ({ accountRef: `NEW-${who.subject}` }) });
    expect(await verifyAnswer(await post(on, await op.matchRequest(CLIENT_ID, { mode: 'create' })))).toMatchObject({ result: 'created', account_ref: 'NEW-pairwise-subject-1' });
  });

  it('follows a rotation of the broker keys (unknown kid refetches the JWKS)', async () => {
    const url = await endpoint({ jwksCacheSeconds: 0.05 });
    await verifyAnswer(await post(url, await op.matchRequest(CLIENT_ID)));
    const before = op.hits['/jwks'] ?? 0;
    const rotated = await newKey();
    const old = op.published;
    op.published = [rotated, ...old];
    try {
      await new Promise((r) => setTimeout(r, 100)); // past the refetch cooldown (50 ms here)
      expect(await verifyAnswer(await post(url, await op.matchRequest(CLIENT_ID, {}, {}, rotated)))).toMatchObject({ result: 'match' });
      expect(op.hits['/jwks']).toBeGreaterThan(before);
    } finally {
      op.published = old;
    }
  });
});

describe('matching handler: refuses what it cannot verify, with JSON and no signed answer', () => {
  it('refuses a request signed by another key under the broker kid', async () => {
    const url = await endpoint();
    const forger = await newKey();
    await expectRefused(await post(url, await op.matchRequest(CLIENT_ID, {}, { kid: op.signing.kid }, forger)), 400, 'invalid_token');
  });

  it('refuses a request whose signature was tampered with (payload changed)', async () => {
    const url = await endpoint();
    const [h, p, s] = (await op.matchRequest(CLIENT_ID)).split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    claims.sub = 'someone-else';
    await expectRefused(await post(url, `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`), 400, 'invalid_token');
  });

  it('refuses an expired request', async () => {
    const url = await endpoint();
    const iat = Math.floor(Date.now() / 1000) - 600;
    await expectRefused(await post(url, await op.matchRequest(CLIENT_ID, { iat, exp: iat + 60 })), 400, 'invalid_token');
  });

  it('refuses a replayed request (same jti), even though the first was answered', async () => {
    const url = await endpoint();
    const request = await op.matchRequest(CLIENT_ID);
    await verifyAnswer(await post(url, request));
    await expectRefused(await post(url, request), 400, 'replayed_request');
  });

  it('refuses a request for another service (audience) or from another issuer', async () => {
    const url = await endpoint();
    await expectRefused(await post(url, await op.matchRequest('another-service')), 400, 'invalid_token');
    await expectRefused(await post(url, await op.matchRequest(CLIENT_ID, { iss: 'https://evil.example' })), 400, 'invalid_token');
  });

  it('refuses a wrong typ (an ID token or no typ is not a matching request)', async () => {
    const url = await endpoint();
    await expectRefused(await post(url, await op.matchRequest(CLIENT_ID, {}, { typ: 'JWT' })), 400, 'invalid_token');
    await expectRefused(await post(url, await op.matchRequest(CLIENT_ID, {}, { typ: 'match-response+jwt' })), 400, 'invalid_token');
  });

  it('refuses alg none and HS256 signed with the broker public key', async () => {
    const url = await endpoint();
    const iat = Math.floor(Date.now() / 1000);
    const claims = { iss: op.issuer, aud: CLIENT_ID, iat, exp: iat + 60, jti: 'x1', txn: 't', sub: 's', vot: 'Cl.Cm.P2', mode: 'match', attempt: 1, verified_claims: { verification: { trust_framework: 'uk_diatf' }, claims: {} } };
    const none = new UnsecuredJWT(claims).encode();
    await expectRefused(await post(url, none), 400, 'invalid_request');
    const hs = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'match-request+jwt', kid: op.signing.kid })
      .sign(new TextEncoder().encode(JSON.stringify(op.signing.publicJwk)));
    await expectRefused(await post(url, hs), 400, 'invalid_token');
  });

  it('refuses claims of the wrong shape, the wrong content type and other methods', async () => {
    const url = await endpoint();
    await expectRefused(await post(url, await op.matchRequest(CLIENT_ID, { mode: 'delete' })), 400, 'invalid_request');
    await expectRefused(await post(url, await op.matchRequest(CLIENT_ID, { extra_attributes: { passport_number: '123' } })), 400, 'invalid_request');
    await expectRefused(await post(url, await op.matchRequest(CLIENT_ID), 'application/json'), 415, 'invalid_request');
    await expectRefused(await fetch(url), 405, 'invalid_request');
  });

  it('answers 500 (no signed answer) when the match function fails', async () => {
    const url = await endpoint();
    const boom = { verification: { trust_framework: 'uk_diatf' }, claims: { family_name: 'Boom' } };
    await expectRefused(await post(url, await op.matchRequest(CLIENT_ID, { verified_claims: boom })), 500, 'server_error');
  });

  it('answers 503 when the broker discovery is unreachable', async () => {
    const url = await endpoint({ brokerIssuer: `http://127.0.0.1:${await freePort()}` });
    await expectRefused(await post(url, await op.matchRequest(CLIENT_ID)), 503, 'temporarily_unavailable');
  });

  it('refuses to start with a public key or without a kid', () => {
    expect(() => createMatchingHandler({ brokerIssuer: op.issuer, clientId: CLIENT_ID, privateKey: service.publicJwk, match: () => ({ result: 'no-match' }) })).toThrow(/private ES256 JWK/);
    const { kid: _kid, ...noKid } = service.privateJwk;
    expect(() => createMatchingHandler({ brokerIssuer: op.issuer, clientId: CLIENT_ID, privateKey: noKid, match: () => ({ result: 'no-match' }) })).toThrow(/kid/);
  });
});

describe('memoryReplayCache', () => {
  it('forgets expired ids and never holds more than maxEntries', async () => {
    let t = 1_000_000;
    const cache = memoryReplayCache({ maxEntries: 2, now: () => t });
    expect(await cache.seen('a', 1_000 + 60)).toBe(false);
    expect(await cache.seen('a', 1_000 + 60)).toBe(true);
    t += 61_000;
    expect(await cache.seen('a', 1_061 + 60)).toBe(false);
    expect(await cache.seen('b', 1_061 + 60)).toBe(false);
    expect(await cache.seen('c', 1_061 + 60)).toBe(false);
    // 'a' was the oldest: dropped to keep two entries
    expect(await cache.seen('c', 1_061 + 60)).toBe(true);
    expect(await cache.seen('a', 1_061 + 60)).toBe(false);
  });
});
