/** Shared set-up for the upstream tests: rogue IdPs on free ports and an IdentityProviders over them. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defaultPoliciesDir, type Policies } from '@idbroker/policies';
import type { JWK } from 'jose';
import { startRogueIdp, type RogueIdp, type RogueIdpOptions } from '../../../test/support/rogue-idp.js';
import { testPolicies, type PolicyChanges, type TestPolicies } from '../../../test/support/policies.js';
import { IdentityProviders, type UpstreamOptions } from './index.js';

export const BROKER = 'http://127.0.0.1:39999';
export const brokerClientJwks = { keys: [JSON.parse(readFileSync(resolve(defaultPoliciesDir, 'dev-keys/broker-idp-client.public.jwk.json'), 'utf8')) as JWK] };

/** A clock the test moves. */
export function testClock(start = new Date('2026-06-01T12:00:00Z')) {
  let t = start.getTime();
  return { now: () => new Date(t), advance: (ms: number) => void (t += ms), set: (d: Date) => void (t = d.getTime()) };
}

export interface Setup {
  idps: IdentityProviders;
  rogues: Record<string, RogueIdp>;
  policies: Policies;
  files: TestPolicies;
  clock: ReturnType<typeof testClock>;
  close(): Promise<void>;
}

export async function setup(
  options: {
    rogues?: string[];
    policyChanges?: PolicyChanges;
    upstream?: Partial<UpstreamOptions>;
    rogue?: Partial<RogueIdpOptions>;
    /** Re-read the policies from disk at every call (to change them mid-test). */
    livePolicies?: boolean;
  } = {},
): Promise<Setup> {
  const files = testPolicies(options.policyChanges);
  const clock = testClock();
  let policies = files.load({ now: clock.now() });
  const rogues: Record<string, RogueIdp> = {};
  for (const id of options.rogues ?? ['civic-id']) {
    rogues[id] = await startRogueIdp({
      clientJwks: brokerClientJwks,
      clientId: policies.identityProvider(id)!.broker_client.client_id,
      redirectUris: [`${BROKER}/idp/${id}/callback`],
      ...options.rogue,
    });
  }
  const idps = IdentityProviders.create({
    policies: options.livePolicies ? () => (policies = files.load({ now: clock.now() })) : policies,
    brokerIssuer: BROKER,
    // IdPs without a rogue point at a closed port (never at whatever runs on the policy's localhost ports).
    issuerOverrides: Object.fromEntries(policies.identityProviders.map((p) => [p.id, rogues[p.id]?.issuer ?? 'http://127.0.0.1:9'])),
    allowInsecureRequests: true,
    now: clock.now,
    ...options.upstream,
  });
  return {
    idps,
    rogues,
    get policies() {
      return policies;
    },
    files,
    clock,
    async close() {
      await idps.close();
      await Promise.all(Object.values(rogues).map((r) => r.close()));
      files.remove();
    },
  };
}
