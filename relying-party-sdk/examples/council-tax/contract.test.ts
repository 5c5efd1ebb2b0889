/**
 * Contract tests a service runs against the SDK's fake broker: the documented example (see the
 * SDK's README, "Testing your service"). Copy it into your service and change three things: how
 * your service starts, the words your pages use for each reason, and your test people.
 *
 * It covers every reason a sign-in can fail for (each with its own message, the references and
 * the other ways), and the matching protocol end to end: a match, one more detail then a match,
 * no match, and a matching endpoint that is down.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JWK } from 'jose';
import { ERROR_REASONS, type ErrorReason } from '../../src/protocol.js';
import { brokerErrorFor, startFakeOp, type FakeOp } from '../../src/testing.js';
import { freePort } from '../../../test/support/ports.js';
import { startExampleService, type ExampleService } from './app.js';

// 1. Your service's public key: the fake broker checks private_key_jwt and your matching answers with it.
const publicJwk = JSON.parse(readFileSync(new URL('../../../policies/dev-keys/example-service.public.jwk.json', import.meta.url), 'utf8')) as JWK;
// 2. What your pages say for each reason (every reason must have its own words).
const SAYS: Record<ErrorReason, string> = {
  cancelled: 'You chose not to share your details',
  no_match: 'could not find your council tax account',
  level_not_met: 'could not be checked thoroughly enough',
  provider_failed: 'had a problem and could not finish',
  fraud_flagged: 'could not confirm your identity online this time',
  timed_out: 'Signing in took too long',
  matching_failed: 'Our system could not look up your account just now',
  no_provider: 'cannot use any of the ways to prove your identity online',
};
// 3. Your test people, as the broker would send their verified attributes.
const DYLAN = { given_name: 'Dylan Rhys', family_name: 'Evans', birthdate: '1990-07-02', address: { street_address: '4 Heol y Castell', locality: 'Aberexample', postal_code: 'EX9 4CY' } };
const PRIYA = { given_name: 'Priya', family_name: 'Shah', birthdate: '1985-11-23', address: { street_address: '7 Canal Wharf', locality: 'Exampleton', postal_code: 'EX3 9LT' } };

let op: FakeOp;
let service: ExampleService;
let base: string;

beforeAll(async () => {
  op = await startFakeOp();
  op.clientKeys = [publicJwk];
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  service = await startExampleService({ port, host: '127.0.0.1', baseUrl: base, brokerIssuer: op.issuer });
});
afterAll(async () => {
  await service?.close();
  await op?.close();
});

/** A browser's visit: start the sign-in, let `broker` decide how the journey ends, follow the service to its result page. */
async function signIn(broker: (authorizationUrl: string) => URL | Promise<URL>): Promise<{ status: number; html: string }> {
  const login = await fetch(`${base}/login`, { redirect: 'manual' });
  expect(login.status).toBe(303);
  const cookies = new Map(login.headers.getSetCookie().map((c) => c.split(';')[0]!.split(/=(.*)/s).slice(0, 2) as [string, string]));
  const header = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  const callback = await broker(login.headers.get('location')!);
  const done = await fetch(callback, { redirect: 'manual', headers: { cookie: header() } });
  expect(done.status).toBe(303);
  for (const c of done.headers.getSetCookie()) {
    const [k, v] = c.split(';')[0]!.split(/=(.*)/s) as [string, string];
    cookies.set(k, v);
  }
  const page = await fetch(new URL(done.headers.get('location')!, base), { headers: { cookie: header() } });
  return { status: page.status, html: await page.text() };
}

describe('every way a sign-in can fail, as the broker sends it', () => {
  it.each(ERROR_REASONS.map((r) => [r, brokerErrorFor(r)] as const))('%s (error=%s): its own message, the references, and the other ways', async (reason) => {
    const { html } = await signIn((url) => op.fail(url, reason, { caseReference: 'K7QM-2XPD-9RTB-H', journeyReference: 'JRN-TEST-0042' }));
    expect(html).toContain(SAYS[reason]);
    expect(html).toContain('K7QM-2XPD-9RTB-H');
    expect(html).toContain('JRN-TEST-0042');
    expect(html).toContain('0300 123 4567'); // the other ways
    for (const other of ERROR_REASONS.filter((r) => r !== reason)) expect(html).not.toContain(SAYS[other]);
  });
});

describe('the matching protocol, end to end', () => {
  it('the endpoint answers a broker-signed request with its own signed answer (checked as the broker checks it)', async () => {
    const answer = await op.callMatching(`${base}/matching`, 'example-council-tax');
    expect(answer).toMatchObject({ result: 'match', account_ref: 'CT-100234', iss: 'example-council-tax', aud: op.issuer });
  });

  it('a match: the person sees their account', async () => {
    const { html } = await signIn((url) => op.journey(url, { matchingUrl: `${base}/matching` }));
    expect(html).toContain('CT-100234');
  });

  it('one more detail, then a match (no match at first; the policy names the NI number, the citizen gives it)', async () => {
    const { html } = await signIn((url) => op.journey(url, { matchingUrl: `${base}/matching`, claims: DYLAN, extraAttribute: 'ni_number', extraAttributes: { ni_number: 'QQ 12 34 56 C' } }));
    expect(html).toContain('CT-100871');
  });

  it('no match: the no_match page with its case reference and the other ways', async () => {
    const { html } = await signIn((url) => op.journey(url, { matchingUrl: `${base}/matching`, claims: PRIYA, extraAttribute: 'ni_number', extraAttributes: { ni_number: 'QQ 11 22 33 A' } }));
    expect(html).toContain(SAYS.no_match);
    expect(html).toContain('K7QM-2XPD-9RTB-H');
  });

  it('an endpoint that is down: matching_failed, never a silent success', async () => {
    const closed = await freePort();
    const { html } = await signIn((url) => op.journey(url, { matchingUrl: `http://127.0.0.1:${closed}/matching` }));
    expect(html).toContain(SAYS.matching_failed);
    expect(html).not.toContain('CT-100234');
  });
});
