/**
 * The broker's side of matching (docs/architecture.md, "Matching"): a request signed by the
 * broker, an answer signed by the service. A slow, down or badly signed answer is a
 * failure with a support path, never a silent success.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, importJWK, type JWK } from 'jose';
import { serviceKeys as serviceKeySets } from '../oidc/service-keys.js';
import type { Policies, RelyingPartyPolicy } from '@idbroker/policies';
import { checkMatchResponseClaims, MATCH_ALG, MATCH_CONTENT_TYPE, MATCH_REQUEST_TYP, MATCH_RESPONSE_TYP, type MatchRequestClaims } from '@idbroker/relying-party-sdk/protocol';
import type { Matching } from '../journey/journey-state.js';

export interface MatchRequest {
  rp: RelyingPartyPolicy;
  journey: Matching;
  /** The pairwise subject for this service. */
  subject: string;
  mode: 'match' | 'create';
}

export type MatchOutcome =
  | { result: 'match'; accountRef: string }
  | { result: 'created'; accountRef: string }
  | { result: 'no-match' }
  | { result: 'need-attribute'; attribute: string }
  | { result: 'failed'; detail: string };

export interface Matcher {
  match(request: MatchRequest): Promise<MatchOutcome>;
}

export interface MatcherOptions {
  issuer: string;
  policies: Policies;
  /** The broker's private signing JWK (ES256, with kid): the one published in its JWKS. */
  signingKey: JWK;
  fetch?: typeof fetch;
  now?: () => number;
  logger?: { warn(obj: object, msg?: string): void };
}

export function createMatcher(options: MatcherOptions): Matcher {
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const keyPromise = importJWK(options.signingKey, 'ES256');
  const serviceKeys = serviceKeySets(options.policies);

  return {
    async match({ rp, journey, subject, mode }) {
      if (!rp.matching) return { result: 'failed', detail: 'service has no matching URL' };
      const jti = randomUUID();
      const iat = Math.floor(now() / 1000);
      const claims: Omit<MatchRequestClaims, 'iss' | 'aud' | 'iat' | 'exp' | 'jti'> = {
        txn: journey.ref,
        sub: subject,
        vot: journey.identity.vot,
        verified_claims: { verification: { trust_framework: 'uk_diatf', ...journey.identity.verification }, claims: journey.identity.claims },
        mode,
        attempt: journey.attempt,
        ...(journey.extra ? { extra_attributes: journey.extra } : {}),
      };
      const token = await new SignJWT({ ...claims })
        .setProtectedHeader({ alg: MATCH_ALG, typ: MATCH_REQUEST_TYP, ...(options.signingKey.kid ? { kid: options.signingKey.kid } : {}) })
        .setIssuer(options.issuer)
        .setAudience(rp.client_id)
        .setIssuedAt(iat)
        .setExpirationTime(iat + 60)
        .setJti(jti)
        .sign(await keyPromise);

      let body: string;
      try {
        const response = await doFetch(rp.matching.url, {
          method: 'POST',
          headers: { 'content-type': MATCH_CONTENT_TYPE, accept: MATCH_CONTENT_TYPE },
          body: token,
          redirect: 'error',
          signal: AbortSignal.timeout(rp.matching.timeout_ms),
        });
        body = await response.text();
        if (response.status !== 200) return fail(`matching endpoint answered ${response.status}`);
      } catch (e) {
        return fail(`matching endpoint unreachable or too slow: ${(e as Error).name}`);
      }

      try {
        const { payload } = await jwtVerify(body.trim(), serviceKeys(rp), {
          algorithms: [MATCH_ALG],
          typ: MATCH_RESPONSE_TYP,
          issuer: rp.client_id,
          audience: options.issuer,
          currentDate: new Date(now()),
          maxTokenAge: '5m',
          clockTolerance: 30,
          requiredClaims: ['iat', 'exp', 'jti'],
        });
        const problem = checkMatchResponseClaims(payload);
        if (problem) return fail(`answer not usable: ${problem}`);
        if (payload.in_response_to !== jti) return fail('answer is not for this request (in_response_to)');
        if (payload.txn !== journey.ref) return fail('answer is for another journey (txn)');
        switch (payload.result) {
          case 'match':
            return { result: 'match', accountRef: String(payload.account_ref) };
          case 'created':
            return { result: 'created', accountRef: String(payload.account_ref) };
          case 'need-attribute':
            return { result: 'need-attribute', attribute: String(payload.attribute) };
          default:
            return { result: 'no-match' };
        }
      } catch (e) {
        return fail(`answer not verified: ${(e as Error).name}`);
      }

      function fail(detail: string): MatchOutcome {
        options.logger?.warn({ client: rp.client_id, journey: journey.ref, detail }, 'matching failed');
        return { result: 'failed', detail };
      }
    },
  };
}
