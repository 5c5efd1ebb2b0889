/**
 * The service's client of the broker: start a sign-in at a level with a list of attributes,
 * and turn the callback into a typed, verified identity or a typed {@link BrokerError}.
 */
import * as oidc from 'openid-client';
import { importJWK, SignJWT, type JWK } from 'jose';
import { BrokerError, errorFromRedirect } from './errors.js';
import { meetsAny, parseVector } from './vectors.js';
import { flattenClaims, type VerifiedAttributes } from './attributes.js';
import { CASE_REQUEST_PATH, CASE_REQUEST_TTL_SECONDS, CASE_REQUEST_TYP, isCaseReason, type CaseReason, type CaseResponseBody, type VerifiedClaims } from './protocol.js';

/** Options of {@link createBrokerClient}. */
export interface BrokerClientOptions {
  /** The broker's issuer, e.g. "https://broker.example". Its discovery document is fetched once and cached. Required. */
  issuer: string | URL;
  /** Your client_id at the broker. Required. */
  clientId: string;
  /** Your redirect URI, exactly as registered in your policy. Required. */
  redirectUri: string;
  /** Your private ES256 JWK with `kid`, for `private_key_jwt` (recommended). One of `privateKey` or `clientSecret` is required. */
  privateKey?: JWK;
  /** A client secret (`client_secret_basic`), when your policy registers one instead of a key. */
  clientSecret?: string;
  /**
   * Allow an `http://` broker. Only for the local federation (`http://localhost:3000`):
   * production must never set it. Default false.
   */
  allowInsecureRequests?: boolean;
  /** Tolerated clock skew for token times, in seconds. Default 30. */
  clockTolerance?: number;
  /** Time limit of each request to the broker, in seconds. Default 10. */
  timeout?: number;
}

/** Options of {@link BrokerClient.startLogin}. */
export interface StartLoginOptions {
  /** The level(s) of assurance: one vector like "Cl.Cm.P2", or several (any one will do). Required. */
  vtr: string | readonly string[];
  /** The verified attributes to ask for, e.g. ["given_name", "family_name", "birthdate", "address"]; must be permitted by your policy. Required (may be empty). */
  attributes: readonly string[];
  /** Preferred languages of the broker's pages, e.g. "cy en". Default: none (the broker decides). */
  uiLocales?: string;
  /** Push the request to the broker first (PAR, RFC 9126), so the browser URL carries only a reference. Default false. */
  usePar?: boolean;
}

/** What to keep (sealed, e.g. with {@link sealTransaction}) between `startLogin` and `handleCallback`. Never show it to the browser unsealed. */
export interface LoginTransaction {
  state: string;
  nonce: string;
  /** The PKCE verifier (S256). */
  codeVerifier: string;
  /** The vectors asked for: the identity's level must meet one of them. */
  vtr: string[];
  attributes: string[];
  /** Epoch milliseconds. */
  createdAt: number;
}

/** A verified person, as the broker tells your service. */
export interface VerifiedIdentity {
  /** Pairwise subject: stable for this person (and their IdP) at your sector; unknown elsewhere. */
  subject: string;
  /** The level reached (`vot`), e.g. "Cl.Cm.P2"; already checked against the levels asked for. */
  level: string;
  /** The trust mark URL (`vtm`). */
  trustMark: string;
  /** The journey reference (`txn`): log it, quote it to support. */
  journeyReference: string;
  /** The verified attributes, flattened (given_name, family_name, birthdate, address, ...). */
  attributes: VerifiedAttributes;
  /** The raw `verified_claims` of the ID token. */
  verifiedClaims?: VerifiedClaims;
  /** The broker's matching result, when your policy has a matching URL. Prefer {@link VerifiedIdentity.account}. */
  match?: { result: 'matched' | 'created'; accountRef: string };
  /**
   * Your account for this person, said plainly: `matched` or `created` by your matching
   * endpoint (with its reference), or `none` when there is no account reference: your policy
   * has no matching URL, so find (or create) the account yourself from `subject` and
   * `attributes` (and {@link BrokerClient.openCase} when you cannot).
   */
  account: AccountLink;
}

/** Whether the person was linked to an account of the service, and which (see {@link VerifiedIdentity.account}). */
export type AccountLink =
  | { status: 'matched'; reference: string }
  | { status: 'created'; reference: string }
  | { status: 'none'; reference: null };

/** A client of the broker (see {@link createBrokerClient}). */
export interface BrokerClient {
  /** Your redirect URI (from the options). */
  readonly redirectUri: string;
  /** The broker's issuer (from discovery). */
  readonly issuer: string;
  /**
   * Build the authorization URL to send the citizen to (a string, ready for a redirect), and the
   * transaction to keep until the callback. Keep one transaction per sign-in, found again by its
   * `state` (the callback's `state` parameter): a person may sign in in two tabs at once.
   */
  startLogin(options: StartLoginOptions): Promise<{ url: string; transaction: LoginTransaction }>;
  /**
   * Handle the callback: the full URL the broker redirected to (with `code`, `state`, `iss`,
   * or the error parameters). Resolves to the verified identity, or rejects with a {@link BrokerError}.
   */
  handleCallback(callbackUrl: URL | string, transaction: LoginTransaction): Promise<VerifiedIdentity>;
  /**
   * Open a support case for a journey you were given (`journeyReference` from
   * {@link VerifiedIdentity} or a {@link BrokerError}): for a service that matches people itself
   * and could not find this one, so the citizen has one place to go. Sends codes only (no
   * personal data), signed with your private key; the same journey always gives the same case.
   * Needs `privateKey`. Rejects with a {@link BrokerError} (`invalid_response` when the broker
   * refused the request, `server_error` when it could not be reached).
   */
  openCase(options: OpenCaseOptions): Promise<OpenedCase>;
}

/** What {@link BrokerClient.openCase} sends. */
export interface OpenCaseOptions {
  /** The journey reference (`txn`) the broker gave you. */
  journeyReference: string;
  /** Why: you could not find the person (`no_match`), your own matching failed, or `other`. */
  reason: CaseReason;
  /** The language of the case status page for the citizen. Default `en`. */
  locale?: 'en' | 'cy';
}

/** A case the broker opened (or had already opened) for the journey. */
export interface OpenedCase {
  /** The reference to show the citizen, e.g. `K7QM-2XPD-9RTB-H`. */
  caseReference: string;
  /** Where the citizen can check the case. */
  statusUrl: string;
}

/** How long a transaction stays usable (ms): longer than the broker's own journey limit is pointless. */
export const TRANSACTION_LIFETIME_MS = 90 * 60 * 1000;

/**
 * Create a client of the broker: fetches the discovery document (once), and checks ID tokens
 * itself: ES256 signature against the broker's JWKS, iss, aud, nonce, exp, and the level.
 * @throws TypeError for a misconfiguration (no key, key without kid, unreachable discovery).
 */
export async function createBrokerClient(options: BrokerClientOptions): Promise<BrokerClient> {
  if (!options.clientId) throw new TypeError('clientId is required');
  const redirect = new URL(options.redirectUri);
  if (redirect.protocol !== 'https:' && !(options.allowInsecureRequests && isLocal(redirect))) {
    throw new TypeError('redirectUri must be https (http only for localhost with allowInsecureRequests)');
  }
  let auth: oidc.ClientAuth;
  let signingKey: { key: oidc.CryptoKey; kid: string } | undefined;
  if (options.privateKey) {
    if (!options.privateKey.kid) throw new TypeError('privateKey needs a kid');
    if (!options.privateKey.d) throw new TypeError('privateKey must be the private JWK (it has no "d")');
    const key = (await importJWK(options.privateKey, 'ES256')) as oidc.CryptoKey;
    signingKey = { key, kid: options.privateKey.kid };
    auth = oidc.PrivateKeyJwt({ key, kid: options.privateKey.kid });
  } else if (options.clientSecret) {
    auth = oidc.ClientSecretBasic(options.clientSecret);
  } else {
    throw new TypeError('give privateKey (recommended) or clientSecret');
  }
  const issuer = new URL(options.issuer);
  if (issuer.protocol !== 'https:' && !options.allowInsecureRequests) throw new TypeError('the broker issuer must be https (allowInsecureRequests is for the local federation only)');
  const execute = options.allowInsecureRequests ? [oidc.allowInsecureRequests] : [];
  const metadata: Partial<oidc.ClientMetadata> = { id_token_signed_response_alg: 'ES256', [oidc.clockTolerance]: options.clockTolerance ?? 30 };
  const config = await oidc.discovery(issuer, options.clientId, metadata, auth, { execute, timeout: options.timeout ?? 10 });
  oidc.enableNonRepudiationChecks(config);
  config.timeout = options.timeout ?? 10;
  const serverIssuer = config.serverMetadata().issuer;

  return {
    redirectUri: options.redirectUri,
    issuer: serverIssuer,
    async startLogin({ vtr, attributes, uiLocales, usePar }) {
      const vectors = typeof vtr === 'string' ? [vtr] : [...vtr];
      if (vectors.length === 0 || vectors.some((v) => !parseVector(v))) throw new TypeError(`not a level vector: ${JSON.stringify(vtr)}`);
      if (!Array.isArray(attributes) || attributes.some((a) => typeof a !== 'string' || !/^[a-z_]+$/.test(a))) throw new TypeError('attributes must be claim names like "given_name"');
      const transaction: LoginTransaction = {
        state: oidc.randomState(),
        nonce: oidc.randomNonce(),
        codeVerifier: oidc.randomPKCECodeVerifier(),
        vtr: vectors,
        attributes: [...attributes],
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
      let url: URL;
      try {
        url = usePar ? await oidc.buildAuthorizationUrlWithPAR(config, params) : oidc.buildAuthorizationUrl(config, params);
      } catch (e) {
        throw new BrokerError('server_error', `the broker refused or did not answer the pushed request: ${(e as Error).message}`, { cause: e });
      }
      return { url: url.href, transaction };
    },

    async handleCallback(callbackUrl, transaction) {
      const url = new URL(callbackUrl);
      const params = url.searchParams;
      if (!transaction || typeof transaction.state !== 'string') throw new BrokerError('state_mismatch', 'no sign-in in progress');
      if (params.get('state') !== transaction.state) throw new BrokerError('state_mismatch', 'the callback is not for this sign-in (state)');
      if (Date.now() - transaction.createdAt > TRANSACTION_LIFETIME_MS) throw new BrokerError('timed_out', 'the sign-in took too long');
      // RFC 9207: the response must come from our broker (mix-up defence), errors included.
      if (params.has('iss') ? params.get('iss') !== serverIssuer : config.serverMetadata().authorization_response_iss_parameter_supported === true) {
        throw new BrokerError('invalid_response', 'the response is not from the broker (iss)');
      }
      if (params.has('error')) throw errorFromRedirect(params);

      let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
      try {
        tokens = await oidc.authorizationCodeGrant(config, url, {
          pkceCodeVerifier: transaction.codeVerifier,
          expectedState: transaction.state,
          expectedNonce: transaction.nonce,
          idTokenExpected: true,
        });
      } catch (e) {
        throw new BrokerError(isServerFault(e) ? 'server_error' : 'invalid_response', (e as Error).message, { cause: e });
      }
      const claims = tokens.claims();
      if (!claims) throw new BrokerError('invalid_response', 'no ID token');
      const journeyReference = typeof claims.txn === 'string' ? claims.txn : '';
      const vot = typeof claims.vot === 'string' ? claims.vot : '';
      if (!meetsAny(vot, transaction.vtr)) {
        throw new BrokerError('level_not_met', `the level reached (${vot || 'none'}) is below the level asked for (${transaction.vtr.join(' or ')})`, { journeyReference });
      }
      const vc = isVerifiedClaims(claims.verified_claims) ? claims.verified_claims : undefined;
      if (claims.verified_claims !== undefined && !vc) throw new BrokerError('invalid_response', 'verified_claims is malformed', { journeyReference });
      const raw = claims.match as { result?: unknown; account_ref?: unknown } | undefined;
      const match: VerifiedIdentity['match'] =
        raw && (raw.result === 'matched' || raw.result === 'created') && typeof raw.account_ref === 'string' && raw.account_ref
          ? { result: raw.result, accountRef: raw.account_ref }
          : undefined;
      return {
        subject: claims.sub,
        level: vot,
        trustMark: typeof claims.vtm === 'string' ? claims.vtm : '',
        journeyReference,
        attributes: flattenClaims(vc?.claims),
        ...(vc ? { verifiedClaims: vc } : {}),
        ...(match ? { match } : {}),
        account: match ? { status: match.result, reference: match.accountRef } : { status: 'none', reference: null },
      };
    },

    async openCase({ journeyReference, reason, locale }) {
      if (!signingKey) throw new TypeError('openCase needs the client to have a privateKey (a secret cannot sign the request)');
      if (typeof journeyReference !== 'string' || !journeyReference) throw new TypeError('journeyReference is required');
      if (!isCaseReason(reason)) throw new TypeError(`reason must be one of no_match, matching_failed, other (got ${JSON.stringify(reason)})`);
      const endpoint = String(config.serverMetadata().support_case_endpoint ?? new URL(CASE_REQUEST_PATH, serverIssuer.endsWith('/') ? serverIssuer : `${serverIssuer}/`).href);
      const jwt = await new SignJWT({ txn: journeyReference, reason, ...(locale ? { locale } : {}) })
        .setProtectedHeader({ alg: 'ES256', typ: CASE_REQUEST_TYP, kid: signingKey.kid })
        .setIssuer(options.clientId)
        .setAudience(serverIssuer)
        .setIssuedAt()
        .setExpirationTime(`${CASE_REQUEST_TTL_SECONDS}s`)
        .setJti(globalThis.crypto.randomUUID())
        .sign(signingKey.key);
      let response: Response;
      try {
        response = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/jwt', accept: 'application/json' }, body: jwt, signal: AbortSignal.timeout((options.timeout ?? 10) * 1000) });
      } catch (e) {
        throw new BrokerError('server_error', `the broker could not be reached: ${(e as Error).message}`, { journeyReference, cause: e });
      }
      const body = (await response.json().catch(() => ({}))) as Partial<CaseResponseBody> & { error?: string; error_description?: string };
      if (response.status >= 500) throw new BrokerError('server_error', body.error_description ?? `the broker answered ${response.status}`, { journeyReference });
      if (response.status !== 201 && response.status !== 200) {
        throw new BrokerError('invalid_response', `the broker refused the case request (${body.error ?? response.status}): ${body.error_description ?? ''}`.trim(), { journeyReference });
      }
      if (typeof body.case_ref !== 'string' || typeof body.status_url !== 'string') throw new BrokerError('invalid_response', 'the broker\'s answer has no case reference', { journeyReference });
      return { caseReference: body.case_ref, statusUrl: body.status_url };
    },
  };
}

function isLocal(url: URL): boolean {
  // RFC 6761: localhost and every name under it are loopback (the local federation gives each part its own).
  return url.hostname === 'localhost' || url.hostname.endsWith('.localhost') || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
}

function isVerifiedClaims(v: unknown): v is VerifiedClaims {
  const o = v as VerifiedClaims | undefined;
  return typeof o === 'object' && o !== null && typeof o.verification === 'object' && o.verification !== null && typeof o.claims === 'object' && o.claims !== null;
}

/** The broker unreachable, too slow, or answering 5xx: not the response's fault. */
function isServerFault(e: unknown): boolean {
  if (e instanceof oidc.ResponseBodyError) return e.status >= 500;
  const name = (e as Error)?.name;
  return name === 'TimeoutError' || name === 'AbortError' || (e instanceof TypeError && /fetch failed/i.test(e.message));
}
