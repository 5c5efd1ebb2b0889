import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { BrokerError, createBrokerClient, sealTransaction, unsealTransaction, type BrokerClient, type LoginTransaction } from '../src/index.js';
import { startFakeBroker, type FakeBroker } from './fake-broker.js';

let broker: FakeBroker;
let client: BrokerClient;
const redirectUri = 'https://service.example/callback';

beforeAll(async () => {
  broker = await startFakeBroker();
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(privateKey)), kid: 'service-1' };
  client = await createBrokerClient({ issuer: broker.issuer, clientId: 'test-service', redirectUri, privateKey: jwk, allowInsecureRequests: true });
});
afterAll(() => broker?.close());
beforeEach(() => {
  broker.next = {};
});

async function signIn(claims: (tx: LoginTransaction) => Record<string, unknown> = (tx) => ({ nonce: tx.nonce }), options: { vtr?: string | string[] } = {}) {
  const { url, transaction } = await client.startLogin({ vtr: options.vtr ?? 'Cl.Cm.P2', attributes: ['given_name', 'birthdate'] });
  broker.next.claims = { ...claims(transaction), ...broker.next.claims };
  const callback = new URL(redirectUri);
  callback.searchParams.set('code', 'code-1');
  callback.searchParams.set('state', transaction.state);
  callback.searchParams.set('iss', broker.issuer);
  return { url, transaction, result: client.handleCallback(callback, transaction) };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(BrokerError);
    return (e as BrokerError).code;
  }
  throw new Error('expected a BrokerError');
}

describe('relying-party SDK client', () => {
  it('asks for the level and the attributes with PKCE S256, state and nonce', async () => {
    const { url } = await client.startLogin({ vtr: ['Cl.Cm.P2', 'Cl.Cm.Cp.P1'], attributes: ['given_name'], uiLocales: 'cy' });
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('vtr')).toBe('["Cl.Cm.P2","Cl.Cm.Cp.P1"]');
    expect(JSON.parse(url.searchParams.get('claims')!).id_token.verified_claims.claims).toEqual({ given_name: null });
    expect(url.searchParams.get('ui_locales')).toBe('cy');
    expect(url.searchParams.get('state')).toBeTruthy();
    expect(url.searchParams.get('nonce')).toBeTruthy();
    await expect(client.startLogin({ vtr: 'High please', attributes: [] })).rejects.toThrow(/not a level vector/);
  });

  it('returns the verified identity, flattened and raw, with the match result', async () => {
    const { result } = await signIn((tx) => ({
      nonce: tx.nonce,
      verified_claims: { verification: { trust_framework: 'uk_diatf' }, claims: { given_name: 'Margaret', birthdate: '1958-03-14', shoe_size: 9 } },
      match: { result: 'matched', account_ref: 'CT-100234' },
    }));
    const identity = await result;
    expect(identity).toMatchObject({ subject: 'pairwise-sub-1', level: 'Cl.Cm.P2', journeyReference: 'K7QM-2XPD-9RTB-H', attributes: { given_name: 'Margaret', birthdate: '1958-03-14' }, match: { result: 'matched', accountRef: 'CT-100234' } });
    expect(identity.attributes).not.toHaveProperty('shoe_size');
  });

  it('refuses a tampered ID token', async () => {
    broker.next.tamper = true;
    expect(await codeOf((await signIn()).result)).toBe('invalid_response');
  });

  it('refuses an ID token signed by another key', async () => {
    broker.next.signWith = 'stranger';
    expect(await codeOf((await signIn()).result)).toBe('invalid_response');
  });

  it('refuses the wrong audience', async () => {
    broker.next.claims = { aud: 'another-service' };
    expect(await codeOf((await signIn()).result)).toBe('invalid_response');
  });

  it('refuses the wrong nonce', async () => {
    expect(await codeOf((await signIn(() => ({ nonce: 'a-nonce-from-another-sign-in' }))).result)).toBe('invalid_response');
  });

  it('refuses a level below the one asked for, even if the broker sent it', async () => {
    broker.next.claims = { vot: 'Cl.P1' };
    expect(await codeOf((await signIn()).result)).toBe('level_not_met');
  });

  it('refuses a callback for another sign-in (state mismatch)', async () => {
    const { transaction } = await client.startLogin({ vtr: 'Cl.Cm.P2', attributes: [] });
    const callback = new URL(`${redirectUri}?code=x&state=someone-elses-state&iss=${encodeURIComponent(broker.issuer)}`);
    expect(await codeOf(client.handleCallback(callback, transaction))).toBe('state_mismatch');
  });

  it('turns the broker error redirect into a typed error with the case and journey references', async () => {
    const { transaction } = await client.startLogin({ vtr: 'Cl.Cm.P2', attributes: [] });
    const callback = new URL(redirectUri);
    for (const [k, v] of Object.entries({ error: 'access_denied', error_description: 'no match', error_reason: 'no_match', txn: 'AAAA-BBBB-CCCC-D', case_ref: 'KKKK-MMMM-NNNN-P', state: transaction.state, iss: broker.issuer })) callback.searchParams.set(k, v);
    const error = await client.handleCallback(callback, transaction).catch((e: BrokerError) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect(error).toMatchObject({ code: 'no_match', caseReference: 'KKKK-MMMM-NNNN-P', journeyReference: 'AAAA-BBBB-CCCC-D' });
  });

  it('seals the transaction cookie: a forged or stale cookie gives nothing', async () => {
    const { transaction } = await client.startLogin({ vtr: 'Cl.Cm.P2', attributes: [] });
    const key = 'a-cookie-key-of-at-least-32-characters!';
    const sealed = sealTransaction(transaction, key);
    expect(unsealTransaction(sealed, key)).toEqual(transaction);
    expect(unsealTransaction(sealed, 'another-key-of-at-least-32-characters!!')).toBeUndefined();
    expect(unsealTransaction(`${sealed.slice(0, -2)}xx`, key)).toBeUndefined();
    expect(unsealTransaction(sealed, key, transaction.createdAt + 2 * 60 * 60 * 1000)).toBeUndefined();
  });
});
