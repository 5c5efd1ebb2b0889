/**
 * Test helpers (import from '@idbroker/idp-stub/testing'):
 * - SoftwareAuthenticator: a WebAuthn authenticator in software for passkey steps;
 * - startTestIdps(): IdP stubs for given policies on free ports of 127.0.0.1;
 * - brokerClientJwks(): the development public key of the broker's IdP client.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { defaultPoliciesDir, type IdentityProviderPolicy, type Levels } from '@idbroker/policies';
import type { JWK } from 'jose';
import { startIdpStub, type DemoIdentity, type FailMode, type IdpStub, type Switches } from '../index.js';

export { SoftwareAuthenticator, cborEncode } from './soft-authenticator.js';
export type { SoftCredential, SoftwareAuthenticatorOptions } from './soft-authenticator.js';

/** The broker's development public key for private_key_jwt at the IdPs (policies/dev-keys). */
export function brokerClientJwks(policiesDir: string = defaultPoliciesDir): { keys: JWK[] } {
  const key = JSON.parse(readFileSync(join(policiesDir, 'dev-keys', 'broker-idp-client.public.jwk.json'), 'utf8')) as JWK;
  return { keys: [key] };
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = address && typeof address === 'object' ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

export interface TestIdpsOptions {
  /** The IdP policies to run (e.g. loadPolicies().identityProviders). */
  policies: readonly IdentityProviderPolicy[];
  levels: Levels;
  /** The broker's issuer: redirect URIs are `${brokerIssuer}/idp/<id>/callback`. */
  brokerIssuer: string;
  /** Override the redirect URIs per IdP. */
  redirectUris?: (policy: IdentityProviderPolicy) => string[];
  /** Default: the dev public key (brokerClientJwks()). */
  brokerJwks?: { keys: JWK[] };
  identities?: DemoIdentity[];
  adminToken?: string;
  /** Starting switches for every stub (default: none, whatever the environment says). */
  switches?: Partial<Switches>;
}

export interface TestIdps {
  /** The stubs by IdP id. */
  readonly stubs: ReadonlyMap<string, IdpStub>;
  /** The policies given, with `issuer` changed to each stub's http://127.0.0.1:<port>. */
  readonly policies: IdentityProviderPolicy[];
  stub(id: string): IdpStub;
  close(): Promise<void>;
}

/** Start one IdP stub per policy on a free port of 127.0.0.1. Close them with `close()`. */
export async function startTestIdps(options: TestIdpsOptions): Promise<TestIdps> {
  const stubs = new Map<string, IdpStub>();
  const policies: IdentityProviderPolicy[] = [];
  const brokerIssuer = options.brokerIssuer.replace(/\/$/, '');
  try {
    for (const policy of options.policies) {
      const port = await freeLocalPort();
      const issuer = `http://127.0.0.1:${port}`;
      const stub = await startIdpStub({
        policy: { ...policy, issuer },
        levels: options.levels,
        issuer,
        port,
        broker: {
          clientId: policy.broker_client.client_id,
          jwks: options.brokerJwks ?? brokerClientJwks(),
          redirectUris: options.redirectUris?.(policy) ?? [`${brokerIssuer}/idp/${policy.id}/callback`],
        },
        identities: options.identities,
        adminToken: options.adminToken,
        switches: { fail: 'none', delayMs: 0, ...options.switches },
      });
      stubs.set(policy.id, stub);
      policies.push({ ...policy, issuer });
    }
  } catch (error) {
    await Promise.all([...stubs.values()].map((s) => s.close()));
    throw error;
  }
  return {
    stubs,
    policies,
    stub(id: string) {
      const s = stubs.get(id);
      if (!s) throw new Error(`no test IdP "${id}" (have: ${[...stubs.keys()].join(', ')})`);
      return s;
    },
    close: async () => {
      await Promise.all([...stubs.values()].map((s) => s.close()));
    },
  };
}

/** The settings `/admin/switches` takes (see idp-stub/README.md, "Simulator"). */
export interface StubSettings {
  fail?: FailMode;
  delayMs?: number;
  /** Claim this vector whatever the evidence; null: back to normal. */
  level?: string | null;
  /** GPG 45 scores to return: { evidence: [[strength, validity]], activity, fraud, verification }; null: none; "person": the person's own. */
  scores?: { evidence: Array<[number, number]>; activity: number; fraud: number; verification: number } | null | 'person';
  /** Return codes: the authorization ends with access_denied, "return_code: A B". [] or null: none. */
  returnCodes?: string[] | null;
  /** Per-identity settings (by username) over the global ones; null clears one person's (or, for the whole map, all). */
  identities?: Record<string, Omit<StubSettings, 'delayMs' | 'identities'> | null> | null;
  /** Start from the defaults before applying the rest. */
  reset?: boolean;
}

/**
 * Configure a running IdP stub over HTTP (any stub started with an admin token: `npm start`
 * with IDP_STUB_ADMIN_TOKEN, a container, or startTestIdps({ adminToken })). Returns the
 * switches now in force. Throws with the stub's error description when refused.
 *
 *   await configureStub('http://localhost:3101', token, { identities: { margaret: { level: 'Cl.Cm.P2', scores: { evidence: [[2, 2]], activity: 0, fraud: 1, verification: 1 } } } });
 */
export async function configureStub(stubUrl: string, adminToken: string, settings: StubSettings): Promise<Switches> {
  const res = await fetch(`${stubUrl.replace(/\/$/, '')}/admin/switches`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(settings),
  });
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) throw new Error(`the IdP stub refused the settings (${res.status}): ${String(body.error_description ?? body.error ?? '')}`);
  return body as unknown as Switches;
}

/** Put a running IdP stub back to normal behaviour. */
export function resetStub(stubUrl: string, adminToken: string): Promise<Switches> {
  return configureStub(stubUrl, adminToken, { reset: true });
}
