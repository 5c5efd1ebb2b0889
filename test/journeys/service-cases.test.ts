/**
 * A service that matches people itself (no matching URL) opens a support case for a journey
 * reference it was given (DESIGN.md, "Matching"), through the SDK's openCase: a signed request
 * of codes only; the broker checks the signature, the audience, the age, the jti and that the
 * journey was this service's; the same journey gives the same case; the answer names nothing
 * about the IdP.
 */
import { generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { defaultPoliciesDir } from '@idbroker/policies';
import { createBrokerClient, isBrokerError, type BrokerClient } from '@idbroker/relying-party-sdk';
import { CASE_REQUEST_TYP } from '@idbroker/relying-party-sdk/protocol';
import { Citizen } from '../support/citizen.js';
import { startFederation, type Federation } from '../support/federation.js';
import { SECOND_SERVICE } from '../support/policies.js';

const privateKey = JSON.parse(readFileSync(resolve(defaultPoliciesDir, 'dev-keys/example-service.private.jwk.json'), 'utf8')) as JWK;


describe('a service opens a support case for a journey it was given', () => {
  let fed: Federation;
  let client: BrokerClient;
  let endpoint: string;
  let txn: string;

  beforeAll(async () => {
    fed = await startFederation({ redisUrl: inject('redisUrl'), idps: ['civic-id'], policyChanges: { extraRps: { 'example-voter-registration': SECOND_SERVICE } } });
    client = await createBrokerClient({ issuer: fed.issuer, clientId: 'example-council-tax', redirectUri: 'http://localhost:3200/callback', privateKey, allowInsecureRequests: true });
    const meta = (await (await fetch(`${fed.issuer}/.well-known/openid-configuration`)).json()) as Record<string, string>;
    endpoint = meta.support_case_endpoint!;
    // Margaret signs in; the service (matching by itself here) cannot find her.
    const { url, transaction } = await client.startLogin({ vtr: 'Cl.Cm.P2', attributes: ['given_name', 'family_name'] });
    const citizen = new Citizen(fed);
    citizen.service = await fed.service();
    await citizen.visit(url);
    await citizen.verifyWith('civic-id', 'margaret');
    await citizen.consent('approve');
    const identity = await client.handleCallback((citizen.current as { url: URL }).url, transaction);
    expect(identity.match).toBeUndefined();
    txn = identity.journeyReference;
  });
  afterAll(() => fed?.close());

  // The federation's clock stands still unless moved: keep it at the real time the requests are signed at.
  beforeEach(() => fed.clock.advance(Date.now() - fed.clock.now()));

  async function request(claims: Record<string, unknown>, options: { key?: CryptoKey | Uint8Array; kid?: string; iat?: number; exp?: number; typ?: string } = {}) {
    const now = Math.floor(Date.now() / 1000);
    const jwt = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: options.typ ?? CASE_REQUEST_TYP, kid: options.kid ?? privateKey.kid! })
      .setIssuedAt(options.iat ?? now)
      .setExpirationTime(options.exp ?? now + 120)
      .setJti(crypto.randomUUID())
      .sign(options.key ?? (await importPrivate()));
    const response = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/jwt' }, body: jwt });
    return { status: response.status, body: (await response.json()) as Record<string, string>, jwt };
  }
  const importPrivate = async () => (await importJWK(privateKey, 'ES256')) as CryptoKey;

  it('discovery names the endpoint', () => {
    expect(endpoint).toBe(`${fed.issuer}/support/service-cases`);
  });

  it('openCase gives a case with the journey, service, IdP, levels and reason; the same journey gives the same case', async () => {
    const opened = await client.openCase({ journeyReference: txn, reason: 'no_match' });
    expect(opened.caseReference).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]$/);
    expect(opened.statusUrl).toBe(`${fed.issuer}/support/case`);
    const stored = await fed.brokers[0]!.support.cases.find(opened.caseReference);
    expect(stored).toMatchObject({ service: 'example-council-tax', idp: 'civic-id', requested: ['Cl.Cm.P2'], stage: 'service_matching', reason: 'no_match', journeyRef: txn, status: 'open' });
    expect(stored!.citizen).toBeUndefined();
    const again = await client.openCase({ journeyReference: txn, reason: 'other' });
    expect(again.caseReference).toBe(opened.caseReference);
    // Audited, with the service as the actor and codes only.
    const events = await fed.brokers[0]!.audit.list({ journey: txn, limit: 1000 });
    const event = events.find((e) => e.type === 'case.openedByService');
    expect(event).toMatchObject({ caseRef: opened.caseReference, actor: 'service:example-council-tax', data: { client: 'example-council-tax', reason: 'no_match', stage: 'service_matching' } });
    expect(JSON.stringify(events)).not.toMatch(/Margaret|Okafor/);
  });

  it('the answer says nothing about the IdP', async () => {
    const { status, body } = await request({ iss: 'example-council-tax', aud: fed.issuer, txn, reason: 'no_match' });
    expect(status).toBe(200); // the case exists already
    expect(Object.keys(body).sort()).toEqual(['case_ref', 'status_url']);
    expect(JSON.stringify(body)).not.toMatch(/civic/i);
  });

  it('refuses a replayed request', async () => {
    const first = await request({ iss: 'example-council-tax', aud: fed.issuer, txn, reason: 'no_match' });
    expect(first.status).toBe(200);
    const replay = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/jwt' }, body: first.jwt });
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error_description: string }).error_description).toMatch(/replayed/);
  });

  it('refuses a request signed with another key, for another audience, too old, or of the wrong type', async () => {
    const { privateKey: wrongKey } = await generateKeyPair('ES256');
    const base = { iss: 'example-council-tax', aud: fed.issuer, txn, reason: 'no_match' };
    expect((await request(base, { key: wrongKey })).status).toBe(401);
    expect((await request({ ...base, aud: 'https://another-broker.example' })).status).toBe(401);
    const old = Math.floor(Date.now() / 1000) - 600;
    expect((await request(base, { iat: old, exp: old + 60 })).status).toBe(401);
    expect((await request(base, { iat: old, exp: Math.floor(Date.now() / 1000) + 60 })).status).toBe(401); // older than 5 minutes
    expect((await request(base, { typ: 'JWT' })).status).toBe(401);
    expect((await request({ ...base, iss: 'no-such-service' })).status).toBe(401);
  });

  it('another service cannot open a case for this service\'s journey, and an unknown reference gets the same answer', async () => {
    const other = await request({ iss: 'example-voter-registration', aud: fed.issuer, txn, reason: 'no_match' });
    expect(other.status).toBe(404);
    const unknown = await request({ iss: 'example-council-tax', aud: fed.issuer, txn: 'AAAA-BBBB-CCCC-D', reason: 'no_match' });
    expect(unknown.status).toBe(404);
    expect(other.body).toEqual(unknown.body);
  });

  it('refuses malformed requests with a clear error', async () => {
    const base = { iss: 'example-council-tax', aud: fed.issuer, txn };
    const badReason = await request({ ...base, reason: 'because' });
    expect(badReason).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    const badTxn = await request({ ...base, txn: 'not a reference', reason: 'no_match' });
    expect(badTxn.status).toBe(400);
    const notJwt = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(notJwt.status).toBe(415);
    // Through the SDK, a refusal is a typed error.
    await expect(client.openCase({ journeyReference: 'AAAA-BBBB-CCCC-D', reason: 'no_match' })).rejects.toSatisfy((e) => isBrokerError(e, 'invalid_response'));
  });
});
