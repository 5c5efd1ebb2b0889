/**
 * The services' public keys, from their policies (`jwks` inline or in a file, or `jwks_uri`),
 * for checking what a service signs: matching answers and case requests. One key set per
 * service's policy, made once (a remote set caches and refetches on an unknown `kid`); a changed
 * policy (a new policy set in force) gets its own.
 */
import { createLocalJWKSet, createRemoteJWKSet, type JWK, type JWTVerifyGetKey } from 'jose';
import type { Policies, RelyingPartyPolicy } from '@idbroker/policies';

export type ServiceKeys = (rp: RelyingPartyPolicy) => JWTVerifyGetKey;

export function serviceKeys(policies: Policies): ServiceKeys {
  const sets = new WeakMap<RelyingPartyPolicy, JWTVerifyGetKey>();
  return (rp) => {
    let set = sets.get(rp);
    if (!set) {
      if (rp.jwks_uri) set = createRemoteJWKSet(new URL(rp.jwks_uri));
      else {
        const jwks = policies.relyingPartyJwks(rp);
        if (!jwks) throw new Error(`no keys for ${rp.client_id}`);
        set = createLocalJWKSet(jwks as { keys: JWK[] });
      }
      sets.set(rp, set);
    }
    return set;
  };
}
