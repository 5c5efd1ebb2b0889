/**
 * Start one IdP stub per identity provider in the shipped policies:
 *   npx tsx idp-stub/src/main.ts
 * Environment: BROKER_ISSUER (default http://localhost:3000), POLICIES_DIR, HOST (default 127.0.0.1), IDP_STUB_ADMIN_TOKEN,
 * IDP_STUB_FAIL, IDP_STUB_DELAY_MS, IDP_STUB_ONLY (comma-separated IdP ids), IDP_STUB_IDENTITIES (an
 * identities file instead of data/identities.yaml; the benchmark uses one with cheaper password hashes).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPolicies } from '@idbroker/policies';
import type { JWK } from 'jose';
import { loadIdentities, startIdpStub, type IdpStub } from './index.js';

const policies = loadPolicies(process.env.POLICIES_DIR);
const brokerIssuer = (process.env.BROKER_ISSUER ?? 'http://localhost:3000').replace(/\/$/, '');
const publicKey = JSON.parse(readFileSync(join(policies.dir, 'dev-keys', 'broker-idp-client.public.jwk.json'), 'utf8')) as JWK;
const identities = process.env.IDP_STUB_IDENTITIES ? loadIdentities(process.env.IDP_STUB_IDENTITIES) : undefined;
const only = process.env.IDP_STUB_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);

const stubs: IdpStub[] = [];
for (const policy of policies.identityProviders) {
  if (only && !only.includes(policy.id)) continue;
  const stub = await startIdpStub({
    policy,
    levels: policies.levels,
    broker: {
      clientId: policy.broker_client.client_id,
      jwks: { keys: [publicKey] },
      redirectUris: [`${brokerIssuer}/idp/${policy.id}/callback`],
    },
    adminToken: process.env.IDP_STUB_ADMIN_TOKEN || undefined,
    ...(identities ? { identities } : {}),
    ...(process.env.HOST ? { host: process.env.HOST } : {}),
  });
  stubs.push(stub);
  process.stdout.write(`IdP stub ${policy.id} (${policy.display_name}): ${stub.url}  [passkeys: ${stub.url}/passkeys]\n`);
}

const stop = async () => {
  await Promise.all(stubs.map((s) => s.close()));
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
