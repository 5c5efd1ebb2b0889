/** SD-JWT VC presentation checks against a wallet policy, one refusal at a time. */
import { describe, expect, it } from 'vitest';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { ES256, digest, generateSalt } from '@sd-jwt/crypto-nodejs';
import { loadPolicies, defaultPoliciesDir, type WalletProviderPolicy } from '@idbroker/policies';
import { CredentialRejected, verifyCredential } from './credential.js';

const policies = loadPolicies(defaultPoliciesDir);
const shipped = policies.walletProvider('digital-wallet')!;
const ISS = 'https://issuer.example/pid';
const AUD = 'x509_hash:abc';

async function setUp() {
  const issuerKeys = await ES256.generateKeyPair();
  const holder = await ES256.generateKeyPair();
  const wallet: WalletProviderPolicy = {
    ...shipped,
    credential_issuers: [{ issuer: ISS, display_name: 'Test issuer', vct: ['urn:eudi:pid:1'], jwks: { keys: [{ ...issuerKeys.publicKey, kid: 'k1' }] }, level: { confidence: 'P2', evidence: ['test'] } }],
  };
  const sdjwt = new SDJwtVcInstance({
    signer: await ES256.getSigner(issuerKeys.privateKey), signAlg: 'ES256', hasher: digest, hashAlg: 'sha-256', saltGenerator: generateSalt,
    kbSigner: await ES256.getSigner(holder.privateKey), kbSignAlg: 'ES256',
  });
  const now = Math.floor(Date.now() / 1000);
  const issue = (claims: Record<string, unknown> = {}) =>
    sdjwt.issue({ iss: ISS, iat: now - 60, exp: now + 3600, vct: 'urn:eudi:pid:1', sub: 'person-1', cnf: { jwk: holder.publicKey }, given_name: 'Ann', family_name: 'Example', ...claims } as never, { _sd: ['given_name', 'family_name'] } as never, { header: { kid: 'k1' } });
  const present = (credential: string, kb: Record<string, unknown> = {}) =>
    sdjwt.present(credential, { given_name: true } as never, { kb: { payload: { aud: AUD, nonce: 'n-1', iat: now, ...kb } as never } });
  const check = (presentation: string, over: Partial<Parameters<typeof verifyCredential>[0]> = {}) =>
    verifyCredential({ policies, wallet, presentation, nonce: 'n-1', audience: AUD, now: new Date(), ...over });
  return { wallet, issue, present, check };
}

const problem = (p: Promise<unknown>) => p.then(() => 'accepted', (e) => (e instanceof CredentialRejected ? e.problem : `other: ${(e as Error).message}`));

describe('verifyCredential', () => {
  it('accepts a good presentation with an issuer key from policy, and returns only what was disclosed', async () => {
    const t = await setUp();
    const result = await t.check(await t.present(await t.issue()));
    expect(result.subject).toBe('person-1');
    expect(result.claims).toEqual({ given_name: 'Ann' });
  });

  it('refuses, naming why: unknown issuer, vct not accepted, wrong audience, old key binding, wrong nonce, expired, no subject', async () => {
    const t = await setUp();
    const good = await t.issue();
    expect(await problem(t.check(await t.present(await t.issue({ iss: 'https://other.example' }))))).toBe('unknown_issuer');
    expect(await problem(t.check(await t.present(await t.issue({ vct: 'urn:other' }))))).toBe('vct_not_accepted');
    expect(await problem(t.check(await t.present(good, { aud: 'x509_hash:someone-else' })))).toBe('audience');
    expect(await problem(t.check(await t.present(good, { iat: Math.floor(Date.now() / 1000) - 3600 })))).toBe('stale_key_binding');
    expect(await problem(t.check(await t.present(good, { nonce: 'n-2' })))).toBe('nonce');
    expect(await problem(t.check(await t.present(await t.issue({ exp: Math.floor(Date.now() / 1000) - 3600 }))))).toBe('expired');
    expect(await problem(t.check(await t.present(await t.issue({ sub: undefined }))))).toBe('no_subject');
  });

  it('refuses a signature by a key not in policy, and a status list outside the policy', async () => {
    const t = await setUp();
    const other = await ES256.generateKeyPair();
    const forged = new SDJwtVcInstance({ signer: await ES256.getSigner(other.privateKey), signAlg: 'ES256', hasher: digest, hashAlg: 'sha-256', saltGenerator: generateSalt, kbSigner: await ES256.getSigner(other.privateKey), kbSignAlg: 'ES256' });
    const now = Math.floor(Date.now() / 1000);
    const bad = await forged.issue({ iss: ISS, iat: now, vct: 'urn:eudi:pid:1', sub: 'x', cnf: { jwk: other.publicKey }, given_name: 'Mallory' } as never, { _sd: ['given_name'] } as never, { header: { kid: 'k1' } });
    const presented = await forged.present(bad, { given_name: true } as never, { kb: { payload: { aud: AUD, nonce: 'n-1', iat: now } as never } });
    expect(await problem(t.check(presented))).toBe('issuer_signature');
    const withStatus = await t.issue({ status: { status_list: { idx: 1, uri: 'https://elsewhere.example/status/1' } } });
    expect(await problem(t.check(await t.present(withStatus)))).toBe('status_unavailable');
  });
});
