/**
 * The service's client of the broker: start a sign-in at a level with a list of attributes,
 * and handle the callback into a typed, verified identity or a typed error.
 */
import * as oidc from 'openid-client';
import { importJWK, type JWK } from 'jose';
import { BrokerError, errorFromRedirect } from './errors.js';
import { meetsAny, parseVector } from './vectors.js';
import { flattenClaims, type VerifiedAttributes } from './attributes.js';
import type { VerifiedClaims } from './protocol.js';

export interface BrokerClientOptions {
  /** The broker's issuer, e.g. https://broker.example (discovery is fetched once and cached). */
  issuer: string | URL;
  /** Your client_id at the broker. */
  clientId: string;
  /** Your redirect URI, exactly as registered in your policy. */
  redirectUri: string;
  /** Your private ES256 JWK with `kid` (private_key_jwt, recommended). */
  privateKey?: JWK;
  /** Or a client secret (client_secret_basic; local use). */
  clientSecret?: string;
  /** Allow an http:// broker. Only for the local federation: never in production. Default false. */
  allowInsecureRequests?: boolean;
  /** Clock tolerance for token times, seconds. Default 30. */
  clockToleranceSeconds?: number;
}

export interface StartLoginOptions {
  /** The level(s) of assurance: one vector like "Cl.Cm.P2", or several (any one will do). */
  vtr: string | string[];
  /** Verified attributes to ask for (must be permitted by your policy). */
  attributes: string[];
  /** Preferred languages, e.g. "cy en". */
  uiLocales?: string;
  /** Push the request first (PAR). Default false. */
  usePar?: boolean;
}

/** What to keep (in a sealed cookie) between startLogin and handleCallback. */
export interface LoginTransaction {
  state: string;
  nonce: string;
  codeVerifier: string;
  vtr: string[];
  attributes: string[];
  createdAt: number;
}

export interface VerifiedIdentity {
  /** Pairwise subject: stable for this person and IdP at your sector; unknown elsewhere. */
  subject: string;
  /** The level reached (vot), e.g. "Cl.Cm.P2". */
  level: string;
  /** The trust mark URL (vtm). */
  trustMark: string;
  /** The journey reference (txn). */
  journeyReference: string;
  attributes: VerifiedAttributes;
  verifiedClaims?: VerifiedClaims;
  /** The broker's matching result, when your policy has a matching URL. */
  match?: { result: 'matched' | 'created'; accountRef: string };
}

export interface BrokerClient {
  readonly config: oidc.Configuration;
  startLogin(options: StartLoginOptions): Promise<{ url: URL; transaction: LoginTransaction }>;
  handleCallback(callbackUrl: URL | string, transaction: LoginTransaction): Promise<VerifiedIdentity>;
}

export async function createBrokerClient(options: BrokerClientOptions): Promise<BrokerClient> {
  let auth: oidc.ClientAuth;
  if (options.privateKey) {
    if (!options.privateKey.kid) throw new TypeError('privateKey needs a kid');
    const key = (await importJWK(options.privateKey, 'ES256')) as CryptoKey;
    auth = oidc.PrivateKeyJwt({ key, kid: options.privateKey.kid });
  } else if (options.clientSecret) {
    auth = oidc.ClientSecretBasic(options.clientSecret);
  } else {
    throw new TypeError('give privateKey (recommended) or clientSecret');
  }
  const execute = options.allowInsecureRequests ? [oidc.allowInsecureRequests] : [];
  const metadata: Partial<oidc.ClientMetadata> = { id_token_signed_response_alg: 'ES256', [oidc.clockTolerance]: options.clockToleranceSeconds ?? 30 };
  const config = await oidc.discovery(new URL(options.issuer), options.clientId, metadata, auth, { execute });
  oidc.enableNonRepudiationChecks(config);
  config.timeout = 10;

  return {
    config,
    async startLogin({ vtr, attributes, uiLocales, usePar }) {
      const vectors = Array.isArray(vtr) ? vtr : [vtr];
      if (vectors.length === 0 || vectors.some((v) => !parseVector(v))) throw new TypeError(`not a level vector: ${JSON.stringify(vtr)}`);
      const transaction: LoginTransaction = {
        state: oidc.randomState(),
        nonce: oidc.randomNonce(),
        codeVerifier: oidc.randomPKCECodeVerifier(),
        vtr: vectors,
        attributes,
        createdAt: Date.now(),
      };
      const params: Record<string, string> = {
        redirect_uri: options.redirectUri,
        response_type: 'code',
        scope: 'openid',
        state: transaction.state,
        nonce: transaction.nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(transaction.codeVerifier),
        code_challenge_method: 'S256',
        vtr: JSON.stringify(vectors),
      };
      if (attributes.length) {
        params.claims = JSON.stringify({ id_token: { verified_claims: { verification: { trust_framework: null }, claims: Object.fromEntries(attributes.map((a) => [a, null])) } } });
      }
      if (uiLocales) params.ui_locales = uiLocales;
      const url = usePar ? await oidc.buildAuthorizationUrlWithPAR(config, params) : oidc.buildAuthorizationUrl(config, params);
      return { url, transaction };
    },
    async handleCallback(callbackUrl, transaction) {
      const url = new URL(callbackUrl);
      if (url.searchParams.get('state') !== transaction.state) throw new BrokerError('state_mismatch', 'the response is not for the sign-in started in this browser');
      if (url.searchParams.has('error')) throw errorFromRedirect(url.searchParams);
      let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
      try {
        tokens = await oidc.authorizationCodeGrant(config, url, {
          pkceCodeVerifier: transaction.codeVerifier,
          expectedState: transaction.state,
          expectedNonce: transaction.nonce,
          idTokenExpected: true,
        });
      } catch (e) {
        throw new BrokerError('invalid_response', (e as Error).message);
      }
      const claims = tokens.claims();
      if (!claims) throw new BrokerError('invalid_response', 'no ID token');
      const vot = typeof claims.vot === 'string' ? claims.vot : '';
      if (!meetsAny(vot, transaction.vtr)) {
        throw new BrokerError('level_not_met', `the level reached (${vot || 'none'}) is below the level asked for (${transaction.vtr.join(' or ')})`, undefined, typeof claims.txn === 'string' ? claims.txn : undefined);
      }
      const vc = claims.verified_claims as VerifiedClaims | undefined;
      const match = claims.match as { result?: string; account_ref?: string } | undefined;
      return {
        subject: claims.sub,
        level: vot,
        trustMark: typeof claims.vtm === 'string' ? claims.vtm : '',
        journeyReference: typeof claims.txn === 'string' ? claims.txn : '',
        attributes: flattenClaims(vc?.claims),
        ...(vc ? { verifiedClaims: vc } : {}),
        ...(match && (match.result === 'matched' || match.result === 'created') && typeof match.account_ref === 'string'
          ? { match: { result: match.result, accountRef: match.account_ref } }
          : {}),
      };
    },
  };
}
