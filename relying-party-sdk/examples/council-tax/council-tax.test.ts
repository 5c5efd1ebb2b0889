/**
 * The example service's matching over its real HTTP endpoint, with requests signed like the
 * broker's (a test key served as the broker's JWKS), and its pages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import { freePort } from '../../../test/support/ports.js';
import { startFakeOp, type FakeOp } from '../../src/testing.js';
import { startExampleService, type ExampleService } from './app.js';
import { loadRecords, matchAccount, normaliseNiNumber } from './records.js';

const servicePublic = JSON.parse(readFileSync(new URL('../../../policies/dev-keys/example-service.public.jwk.json', import.meta.url), 'utf8')) as JWK | { keys: JWK[] };
const serviceKeys = createLocalJWKSet('keys' in servicePublic ? servicePublic : { keys: [servicePublic] });

const people = {
  margaret: { given_name: 'Margaret', family_name: 'Okafor', birthdate: '1958-03-14', address: { street_address: '12 Station Road', locality: 'Exampleton', postal_code: 'EX1 2AB' } },
  dylan: { given_name: 'Dylan Rhys', family_name: 'Evans', birthdate: '1990-07-02', address: { street_address: '4 Heol y Castell', locality: 'Aberexample', postal_code: 'EX9 4CY' } },
  priya: { given_name: 'Priya', family_name: 'Shah', birthdate: '1985-11-23', address: { street_address: '7 Canal Wharf', locality: 'Exampleton', postal_code: 'EX3 9LT' } },
  sam: { given_name: 'Sam', family_name: 'Taylor', birthdate: '2001-05-09', address: { street_address: '22 Hillside Court', locality: 'Exampleton', postal_code: 'ex41rd' } },
};

let op: FakeOp;
let service: ExampleService;
let withCreation: ExampleService;

beforeAll(async () => {
  op = await startFakeOp();
  service = await startExampleService({ port: await freePort(), host: '127.0.0.1', brokerIssuer: op.issuer });
  const port = await freePort();
  withCreation = await startExampleService({ port, host: '127.0.0.1', brokerIssuer: op.issuer, baseUrl: `http://127.0.0.1:${port}`, accountCreation: true });
});
afterAll(async () => {
  await service?.close();
  await withCreation?.close();
  await op?.close();
});

async function ask(person: keyof typeof people, extra: Record<string, unknown> = {}, target = service) {
  const request = await op.matchRequest('example-council-tax', { verified_claims: { verification: { trust_framework: 'uk_diatf' }, claims: people[person] }, ...extra });
  const url = target.url.replace('localhost', '127.0.0.1');
  const response = await fetch(`${url}/matching`, { method: 'POST', headers: { 'content-type': 'application/jwt' }, body: request });
  expect(response.status).toBe(200);
  const { payload } = await jwtVerify(await response.text(), serviceKeys, { issuer: 'example-council-tax', audience: op.issuer, typ: 'match-response+jwt', algorithms: ['ES256'] });
  return payload;
}

describe('example service matching (over HTTP, broker-signed requests)', () => {
  it('Margaret matches on name, birth date and postcode', async () => {
    expect(await ask('margaret')).toMatchObject({ result: 'match', account_ref: 'CT-100234' });
  });

  it('Dylan does not match at his new address, then matches with his NI number (any spacing or case)', async () => {
    expect(await ask('dylan')).toMatchObject({ result: 'no-match' });
    expect(await ask('dylan', { attempt: 2, extra_attributes: { ni_number: 'QQ999999C' } })).toMatchObject({ result: 'no-match' });
    expect(await ask('dylan', { attempt: 2, extra_attributes: { ni_number: 'qq 12 34 56 c' } })).toMatchObject({ result: 'match', account_ref: 'CT-100871' });
  });

  it('Priya is not in the records: no match, with or without an NI number', async () => {
    expect(await ask('priya')).toMatchObject({ result: 'no-match' });
    expect(await ask('priya', { attempt: 2, extra_attributes: { ni_number: 'QQ123456C' } })).toMatchObject({ result: 'no-match' });
  });

  it('Sam matches (postcode written without a space, lower case)', async () => {
    expect(await ask('sam', { vot: 'Cl.P1' })).toMatchObject({ result: 'match', account_ref: 'CT-101552' });
  });

  it('account creation is off by default and works behind the option', async () => {
    expect(await ask('priya', { mode: 'create' })).toMatchObject({ result: 'no-match' });
    const created = await ask('priya', { mode: 'create' }, withCreation);
    expect(created.result).toBe('created');
    expect(created.account_ref).toMatch(/^CT-\d{6}$/);
  });

  it('refuses an unsigned request with a JSON error', async () => {
    const response = await fetch(`${service.url.replace('localhost', '127.0.0.1')}/matching`, { method: 'POST', headers: { 'content-type': 'application/jwt' }, body: 'e30.e30.' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_request');
  });
});

describe('example service records and pages', () => {
  it('the records agree with the demo identities and do not hold Priya', () => {
    const records = loadRecords();
    expect(records.map((r) => r.account_ref).sort()).toEqual(['CT-100234', 'CT-100871', 'CT-101552']);
    expect(records.find((r) => r.account_ref === 'CT-100871')).toMatchObject({ address: 'Flat 2, 8 Mill Lane, Exampleton', postcode: 'EX2 7PQ', ni_number: 'QQ123456C' });
    expect(records.some((r) => r.family_name === 'Shah')).toBe(false);
    const who = (claims: object, extra = {}) => ({ subject: 's', level: 'Cl.Cm.P2', journeyReference: 't', attributes: claims, verifiedClaims: { verification: { trust_framework: 'uk_diatf' }, claims: {} }, extra, attempt: 1 });
    expect(matchAccount(records, who({ ...people.margaret, given_name: 'MARGARET' }))).toEqual({ result: 'match', accountRef: 'CT-100234' });
    expect(matchAccount(records, who({ ...people.margaret, birthdate: '1958-03-15' }))).toEqual({ result: 'no-match' });
    expect(normaliseNiNumber('qq 12 34 56 c')).toBe('QQ123456C');
    expect(normaliseNiNumber('12345')).toBeUndefined();
  });

  it('the start page is plain accessible HTML with a Start now link and the other ways', async () => {
    const response = await fetch(`${service.url.replace('localhost', '127.0.0.1')}/`);
    const html = await response.text();
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('<h1>Pay your council tax</h1>');
    expect(html).toMatch(/<a class="button" href="\/login"[^>]*>Start now<\/a>/);
    expect(html).toContain('0300 123 4567');
    expect(html).not.toContain('<script');
  });

  it('a callback without a sign-in in progress sends the browser (303) to the failure page with the other ways', async () => {
    const base = service.url.replace('localhost', '127.0.0.1');
    const callback = await fetch(`${base}/callback?code=x&state=y`, { redirect: 'manual' });
    expect(callback.status).toBe(303);
    const location = callback.headers.get('location')!;
    expect(location).toMatch(/^\/result\/[\w-]+$/);
    const session = callback.headers.getSetCookie().find((c) => c.startsWith('council_session='))!;
    expect(session).toMatch(/HttpOnly/i);
    const response = await fetch(`${base}${location}`, { headers: { cookie: session.split(';')[0]! } });
    expect(response.headers.get('cache-control')).toBe('no-store');
    const html = await response.text();
    expect(html).toContain('We could not show your account');
    expect(html).toContain('Please start again');
    expect(html).toContain('Other ways to pay your council tax');
    expect(html).toContain('0300 123 4567');
  });
});
