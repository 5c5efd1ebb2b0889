import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK } from 'jose';
import { createMatchingHandler, MatchingRequestError, type MatchingIdentity } from '../src/index.js';
import { MATCH_REQUEST_TYP, MATCH_RESPONSE_TYP } from '../src/protocol.js';
import { startFakeBroker, type FakeBroker } from './fake-broker.js';

let broker: FakeBroker;
let serviceKey: JWK;
let servicePublic: JWK;
const seen: MatchingIdentity[] = [];

beforeAll(async () => {
  broker = await startFakeBroker();
  const pair = await generateKeyPair('ES256', { extractable: true });
  serviceKey = { ...(await exportJWK(pair.privateKey)), kid: 'svc-1' };
  servicePublic = { ...(await exportJWK(pair.publicKey)), kid: 'svc-1', alg: 'ES256' };
});
afterAll(() => broker?.close());

const handler = () =>
  createMatchingHandler({
    brokerIssuer: broker.issuer,
    clientId: 'test-service',
    privateKey: serviceKey,
    match: async (who) => {
      seen.push(who);
      return who.attributes.given_name === 'Margaret' ? { result: 'match', accountRef: 'CT-1' } : { result: 'no-match' };
    },
  });

let n = 0;
function request(overrides: Record<string, unknown> = {}, options: { key?: 'broker' | 'stranger'; typ?: string; alg?: string } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: broker.issuer,
    aud: 'test-service',
    iat: now,
    exp: now + 60,
    jti: `jti-${++n}`,
    txn: 'K7QM-2XPD-9RTB-H',
    sub: 'pairwise-1',
    vot: 'Cl.Cm.P2',
    verified_claims: { verification: { trust_framework: 'uk_diatf' }, claims: { given_name: 'Margaret', family_name: 'Okafor' } },
    mode: 'match',
    attempt: 1,
    ...overrides,
  };
  return broker.sign(claims, options.key ?? 'broker', { typ: options.typ ?? MATCH_REQUEST_TYP });
}

async function refusal(p: Promise<unknown>) {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(MatchingRequestError);
  return e as MatchingRequestError;
}

describe('matching handler', () => {
  it('answers a valid request with a JWT signed by the service key', async () => {
    const h = handler();
    const token = await request({ jti: 'good-1' });
    const answer = await h.answer(token);
    const { payload, protectedHeader } = await jwtVerify(answer, createLocalJWKSet({ keys: [servicePublic] }), { issuer: 'test-service', audience: broker.issuer, typ: MATCH_RESPONSE_TYP });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload).toMatchObject({ result: 'match', account_ref: 'CT-1', in_response_to: 'good-1', txn: 'K7QM-2XPD-9RTB-H' });
    expect(seen.at(-1)).toMatchObject({ subject: 'pairwise-1', level: 'Cl.Cm.P2', attributes: { given_name: 'Margaret' }, attempt: 1 });
  });

  it('refuses a bad signature', async () => {
    expect((await refusal(handler().answer(await request({}, { key: 'stranger' })))).status).toBe(401);
  });

  it('refuses an expired request', async () => {
    const old = Math.floor(Date.now() / 1000) - 600;
    expect((await refusal(handler().answer(await request({ iat: old, exp: old + 60 }))))).toMatchObject({ status: 401, code: 'invalid_token' });
  });

  it('refuses a replayed request', async () => {
    const h = handler();
    const token = await request({ jti: 'replayed-1' });
    await h.answer(token);
    const e = await refusal(h.answer(token));
    expect(e.message).toMatch(/replayed/);
  });

  it('refuses the wrong audience', async () => {
    expect((await refusal(handler().answer(await request({ aud: 'another-service' })))).status).toBe(401);
  });

  it('refuses the wrong typ and alg none', async () => {
    expect((await refusal(handler().answer(await request({}, { typ: 'JWT' })))).status).toBe(401);
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: MATCH_REQUEST_TYP })).toString('base64url')}.${Buffer.from(JSON.stringify({ iss: broker.issuer, aud: 'test-service' })).toString('base64url')}.`;
    expect((await refusal(handler().answer(none))).status).toBe(400);
    const hs = await new SignJWT({ iss: broker.issuer, aud: 'test-service', jti: 'x' }).setProtectedHeader({ alg: 'HS256', typ: MATCH_REQUEST_TYP }).setIssuedAt().setExpirationTime('1m').sign(new TextEncoder().encode('a-secret-a-secret-a-secret-a-secret'));
    expect((await refusal(handler().answer(hs))).status).toBe(401);
  });

  it('refuses a request of the wrong shape, and never answers it', async () => {
    const e = await refusal(handler().answer(await request({ mode: 'delete-everything' })));
    expect(e).toMatchObject({ status: 400, code: 'invalid_request' });
  });

  it('over HTTP: a bad request gets a JSON error, not a signed answer', async () => {
    const { createServer } = await import('node:http');
    const { freePort } = await import('../../test/support/ports.js');
    const h = handler();
    const port = await freePort();
    const server = createServer(h.node).listen(port, '127.0.0.1');
    try {
      const ok = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', headers: { 'content-type': 'application/jwt' }, body: await request() });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toBe('application/jwt');
      const bad = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', headers: { 'content-type': 'application/jwt' }, body: await request({}, { key: 'stranger' }) });
      expect(bad.status).toBe(401);
      expect(await bad.json()).toMatchObject({ error: 'invalid_token' });
      const wrongType = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(wrongType.status).toBe(415);
    } finally {
      server.close();
    }
  });
});
