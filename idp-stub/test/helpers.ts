/** Shared set-up for the idp-stub tests: a stub on a free port and openid-client as the broker. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultPoliciesDir, loadPolicies, type IdentityProviderPolicy } from '@idbroker/policies';
import { importJWK, type JWK } from 'jose';
import * as client from 'openid-client';
import { startIdpStub, type IdpStub, type IdpStubOptions } from '../src/index.js';
import { brokerClientJwks } from '../src/testing/index.js';
import { freePort } from '../../test/support/ports.js';

export const policies = loadPolicies();
export const levels = policies.levels;
export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export function idpPolicy(id: string): IdentityProviderPolicy {
  const p = policies.identityProvider(id);
  if (!p) throw new Error(`no IdP policy ${id}`);
  return p;
}

export interface Started {
  stub: IdpStub;
  redirectUri: string;
}

export async function startStub(id = 'civic-id', extra: Partial<IdpStubOptions> = {}): Promise<Started> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const redirectUri = `http://127.0.0.1:9/idp/${id}/callback`;
  const policy = idpPolicy(id);
  const stub = await startIdpStub({
    policy,
    levels,
    issuer,
    port,
    broker: { clientId: policy.broker_client.client_id, jwks: brokerClientJwks(), redirectUris: [redirectUri] },
    adminToken: ADMIN_TOKEN,
    switches: { fail: 'none', delayMs: 0 },
    ...extra,
  });
  return { stub, redirectUri };
}

export async function brokerKey(): Promise<{ key: CryptoKey; kid: string }> {
  const jwk = JSON.parse(readFileSync(join(defaultPoliciesDir, 'dev-keys', 'broker-idp-client.private.jwk.json'), 'utf8')) as JWK;
  return { key: (await importJWK(jwk, 'ES256')) as CryptoKey, kid: jwk.kid! };
}

/** openid-client configured as the broker is at this IdP (private_key_jwt, ID token signatures checked). */
export async function brokerClient(stub: IdpStub, clientId = 'identity-broker', key?: { key: CryptoKey; kid: string }): Promise<client.Configuration> {
  const config = await client.discovery(
    new URL(stub.issuer),
    clientId,
    { id_token_signed_response_alg: 'ES256', token_endpoint_auth_signing_alg: 'ES256' },
    client.PrivateKeyJwt(key ?? (await brokerKey())),
    { execute: [client.allowInsecureRequests] },
  );
  client.enableNonRepudiationChecks(config);
  return config;
}

export interface AuthRequest {
  url: URL;
  verifier: string;
  state: string;
  nonce: string;
}

export const claimsFor = (names: string[]) =>
  JSON.stringify({
    id_token: { verified_claims: { verification: { trust_framework: null }, claims: Object.fromEntries(names.map((n) => [n, null])) } },
  });

export async function authRequest(config: client.Configuration, redirectUri: string, params: Record<string, string> = {}): Promise<AuthRequest> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid',
    response_type: 'code',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...params,
  });
  return { url, verifier, state, nonce };
}

export async function exchange(config: client.Configuration, callback: URL, req: AuthRequest) {
  return client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: req.verifier,
    expectedState: req.state,
    expectedNonce: req.nonce,
  });
}
