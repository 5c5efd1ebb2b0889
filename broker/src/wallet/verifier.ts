/**
 * The broker as an OpenID for Verifiable Presentations 1.0 verifier towards certified wallets:
 * which wallets may be offered, the signed presentation request (JAR by reference, client
 * identifier prefix `x509_hash`, DCQL asking for the federation's standard attributes (never a service's own list), a fresh nonce,
 * `response_mode=direct_post.jwt` with an ephemeral ECDH-ES key per request), and every check on
 * the encrypted answer. Protocol work by @openid4vc/openid4vp and dcql; JOSE by jose.
 *
 * What the wallet learns: the broker's verifier certificate and the attribute names asked for.
 * Never the service (the broker's client_id and response_uri are the same for every service).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Openid4vpVerifier, calculateX509HashClientIdPrefixValue } from '@openid4vc/openid4vp';
import { setGlobalConfig, type CallbackContext, type Jwk } from '@openid4vc/oauth2';
import { DcqlPresentationResult, DcqlQuery } from 'dcql';
import { CompactEncrypt, SignJWT, compactDecrypt, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { Logger } from 'pino';
import { readPemCertificates, type AttributeName, type Policies, type Vector, type WalletProviderPolicy } from '@idbroker/policies';
import { UpstreamError } from '../upstream/errors.js';
import type { ReturnedIdentity } from '../journey/journey-state.js';
import { certificationExpired } from '../upstream/index.js';
import { CredentialRejected, verifyCredential } from './credential.js';

/** The one credential query id in every request. */
export const CREDENTIAL_QUERY_ID = 'pid';

/** The secrets of one presentation request, kept only in the (sealed) journey state. */
export interface WalletSecrets {
  kind: 'wallet';
  walletId: string;
  /** The request's `state`, also the handle in its request_uri and response_uri. */
  state: string;
  nonce: string;
  /** The private half of this request's ephemeral response encryption key (ECDH-ES P-256). */
  encryptionKey: JWK;
  /** The vectors asked for, formatted. */
  requested: string[];
  attributes: string[];
  /** The request parameters as signed (needed to check the response against them). */
  request: Record<string, unknown>;
  /** Which request_uri the wallet fetched: this device (redirect back) or another (the page is told). */
  device?: 'same' | 'cross';
  /** The checked answer, waiting for the citizen's browser. */
  answer?: WalletAnswer;
  /** Same device: the one-time code the browser must bring back (binds the answer to this browser). */
  responseCode?: string;
}

export type WalletAnswer =
  | { ok: true; identity: ReturnedIdentity }
  | { ok: false; reason: 'cancelled' | 'provider_failed' | 'level_not_met' | 'fraud_flagged'; detail: string };

export interface WalletIdentity {
  walletId: string;
  /** The issuer and its subject for the holder: stable for one person and one issuer. */
  subject: string;
  achieved: Vector;
  vot: string;
  verifiedClaims: { verification: Record<string, unknown>; claims: Record<string, unknown> };
}

export interface WalletOffer {
  policy: WalletProviderPolicy;
  offered: boolean;
  available: boolean;
  reason?: 'not_certified_for_level' | 'certification_expired' | 'certificate_withdrawn' | 'suspended';
}

export interface WalletVerifierOptions {
  policies: Policies | (() => Policies);
  brokerIssuer: string;
  /** Wallet id -> authorization endpoint, overriding the policy (tests run the stub on a free port). */
  endpointOverrides?: Record<string, string>;
  now?: () => Date;
  logger?: Logger;
  fetchStatusList?: (uri: string) => Promise<string>;
  /** Allow http:// request and response URIs (the local federation only; a process-wide setting of @openid4vc). */
  allowInsecureUrls?: boolean;
}

interface VerifierIdentity {
  clientId: string;
  x5c: string[];
  key: CryptoKey;
}

export class WalletVerifier {
  private readonly identities = new Map<string, Promise<VerifierIdentity>>();
  private readonly now: () => Date;
  private readonly log: Logger | undefined;

  constructor(private readonly options: WalletVerifierOptions) {
    this.now = options.now ?? (() => new Date());
    this.log = options.logger?.child({ component: 'wallet' });
    if (options.allowInsecureUrls) setGlobalConfig({ allowInsecureUrls: true });
  }

  private get policies(): Policies {
    const p = this.options.policies;
    return typeof p === 'function' ? p() : p;
  }

  /** Every wallet provider, with whether it may be offered for these vectors now. */
  offer(requested: readonly Vector[]): WalletOffer[] {
    const { levels } = this.policies;
    const now = this.now();
    return this.policies.walletProviders.map((policy) => {
      let reason: WalletOffer['reason'];
      if (policy.status !== 'enabled') reason = 'suspended';
      else if (certificationExpired(policy as never, now)) reason = 'certification_expired';
      else if (policy.certification.register.status !== 'listed') reason = 'certificate_withdrawn';
      else if (!levels.satisfiesAny(this.reachable(policy), requested)) reason = 'not_certified_for_level';
      const offered = reason === undefined;
      return { policy, offered, available: offered, ...(reason ? { reason } : {}) };
    });
  }

  /** The authorization endpoint the citizen's device opens for this wallet. */
  endpointOf(walletId: string): string {
    return this.options.endpointOverrides?.[walletId] ?? this.policyOf(walletId).wallet.authorization_endpoint;
  }

  /** A new presentation request: its secrets (for the journey) and its signed request object. */
  async begin(walletId: string, request: { requested: readonly Vector[]; attributes: readonly AttributeName[] }): Promise<{ secrets: WalletSecrets; requestJwt: string }> {
    const policy = this.policyOf(walletId);
    const { levels } = this.policies;
    if (request.requested.length === 0) throw new UpstreamError('level_not_met', 'no level requested');
    const offer = this.offer(request.requested).find((o) => o.policy.id === walletId);
    if (!offer?.offered) throw new UpstreamError('level_not_met', `${walletId} may not be used: ${offer?.reason ?? 'unknown'}`);
    const identity = await this.identity(policy);
    const state = randomBytes(24).toString('base64url');
    const nonce = randomBytes(24).toString('base64url');
    const { publicKey, privateKey } = await generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true });
    const encryptionPublic = { ...(await exportJWK(publicKey)), kid: randomBytes(8).toString('base64url'), use: 'enc', alg: 'ECDH-ES' };
    const encryptionKey = { ...(await exportJWK(privateKey)), kid: encryptionPublic.kid, alg: 'ECDH-ES' };
    const vctValues = [...new Set(policy.credential_issuers.flatMap((ci) => ci.vct))];
    const dcqlQuery = {
      credentials: [
        {
          id: CREDENTIAL_QUERY_ID,
          format: 'dc+sd-jwt' as const,
          meta: { vct_values: vctValues },
          ...(request.attributes.length > 0 ? { claims: request.attributes.map((a) => ({ path: [a] })) } : {}),
        },
      ],
    };
    DcqlQuery.validate(DcqlQuery.parse(dcqlQuery));
    const base = this.options.brokerIssuer.replace(/\/+$/, '');
    const payload = {
      response_type: 'vp_token' as const,
      client_id: identity.clientId,
      response_uri: `${base}/wallet/response/${state}`,
      response_mode: 'direct_post.jwt' as const,
      nonce,
      state,
      dcql_query: dcqlQuery,
      client_metadata: {
        jwks: { keys: [encryptionPublic as Jwk] },
        encrypted_response_enc_values_supported: ['A128GCM', 'A256GCM'],
        vp_formats_supported: { 'dc+sd-jwt': { 'sd-jwt_alg_values': ['ES256'] as [string], 'kb-jwt_alg_values': ['ES256'] as [string] } },
      },
    };
    const created = await this.vp(identity).createOpenId4vpAuthorizationRequest({
      authorizationRequestPayload: payload,
      jar: { requestUri: `${base}/wallet/request/${state}`, jwtSigner: { method: 'x5c', x5c: identity.x5c, alg: 'ES256' }, expiresInSeconds: 600 },
    });
    if (!created.jar) throw new Error('no request object was made');
    const secrets: WalletSecrets = {
      kind: 'wallet',
      walletId,
      state,
      nonce,
      encryptionKey,
      requested: request.requested.map((v) => levels.format(v)),
      attributes: [...request.attributes],
      request: created.authorizationRequestPayload as Record<string, unknown>,
    };
    return { secrets, requestJwt: created.jar.authorizationRequestJwt };
  }

  /** The URL a device opens to answer this request (same device: a link; another: a QR code). */
  async authorizationUrl(secrets: WalletSecrets, device: 'same' | 'cross'): Promise<string> {
    const identity = await this.identity(this.policyOf(secrets.walletId));
    const url = new URL(this.endpointOf(secrets.walletId));
    url.searchParams.set('client_id', identity.clientId);
    url.searchParams.set('request_uri', `${this.options.brokerIssuer.replace(/\/+$/, '')}/wallet/request/${secrets.state}/${device}`);
    url.searchParams.set('request_uri_method', 'get');
    return url.href;
  }

  /** Check the wallet's answer (form parameters of the direct_post). Throws UpstreamError. */
  async complete(body: Record<string, unknown>, secrets: WalletSecrets): Promise<WalletIdentity> {
    try {
      return await this.check(body, secrets);
    } catch (e) {
      const error = e instanceof UpstreamError ? e : e instanceof CredentialRejected ? new UpstreamError('invalid_response', `credential refused: ${e.message}`) : new UpstreamError('invalid_response', e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 200) : 'unknown failure');
      this.log?.warn({ wallet: secrets.walletId, reason: error.reason, detail: error.detail }, 'wallet presentation refused');
      throw error;
    }
  }

  private async check(body: Record<string, unknown>, secrets: WalletSecrets): Promise<WalletIdentity> {
    const policy = this.policyOf(secrets.walletId);
    const { levels } = this.policies;
    if (typeof body.error === 'string') {
      if (body.state !== secrets.state) throw new UpstreamError('invalid_response', 'error response with another state');
      if (body.error === 'access_denied') throw new UpstreamError('cancelled', 'the person declined in the wallet');
      throw new UpstreamError('provider_failed', `wallet answered error ${body.error.slice(0, 64)}`);
    }
    if (typeof body.response !== 'string') throw new UpstreamError('invalid_response', 'direct_post.jwt without response');
    const identity = await this.identity(policy);
    const encryptionKey = (await importJWK(secrets.encryptionKey, 'ECDH-ES')) as CryptoKey;
    const parsed = await this.vp(identity, encryptionKey).parseOpenid4vpAuthorizationResponse({
      authorizationResponse: { response: body.response },
      authorizationRequestPayload: secrets.request as never,
      callbacks: this.callbacks(identity, encryptionKey),
    });
    if (!parsed.jarm?.decryptionJwk) throw new UpstreamError('invalid_response', 'the response was not encrypted');
    if (parsed.authorizationResponsePayload.state !== secrets.state) throw new UpstreamError('invalid_response', 'state does not match the request');
    if (parsed.type !== 'dcql') throw new UpstreamError('invalid_response', 'not a DCQL response');
    const entries = parsed.dcql.presentations[CREDENTIAL_QUERY_ID];
    if (!entries || entries.length !== 1 || typeof entries[0] !== 'string') throw new UpstreamError('invalid_response', 'expected one SD-JWT VC presentation');

    const now = this.now();
    const credential = await verifyCredential({
      policies: this.policies,
      wallet: policy,
      presentation: entries[0],
      nonce: secrets.nonce,
      audience: identity.clientId,
      now,
      ...(this.options.fetchStatusList ? { fetchStatusList: this.options.fetchStatusList } : {}),
    });
    // Exactly what was asked for must be there (DCQL decides, over the disclosed claims).
    const dcqlQuery = DcqlQuery.parse((secrets.request as { dcql_query: unknown }).dcql_query as never);
    const result = DcqlPresentationResult.fromDcqlPresentation(
      { [CREDENTIAL_QUERY_ID]: { credential_format: 'dc+sd-jwt', vct: credential.vct, claims: credential.claims, cryptographic_holder_binding: true } as never },
      { dcqlQuery },
    );
    if (!result.can_be_satisfied) throw new UpstreamError('invalid_response', 'a claim asked for is missing from the presentation');

    // The level: the wallet's holder binding (authentication) and this issuer's credential (confidence).
    const achieved: Vector = { authentication: policy.certified.authentication, confidence: credential.issuer.level.confidence };
    const requested = secrets.requested.map((v) => levels.parseVector(v));
    if (!levels.satisfiesAny(achieved, requested)) {
      throw new UpstreamError('level_not_met', `reached ${levels.format(achieved)}, asked for ${secrets.requested.join(' or ')}`);
    }
    const current = this.policies.walletProvider(secrets.walletId);
    // Suspended while the person was at the wallet: the provider's side, not theirs (see upstream).
    if (!current || current.status !== 'enabled') throw new UpstreamError('provider_failed', `${secrets.walletId} is no longer enabled (suspended or removed during the journey)`);
    if (certificationExpired(current as never, now)) throw new UpstreamError('level_not_met', `${secrets.walletId} certification expired before the answer`);
    if (current.certification.register.status !== 'listed') throw new UpstreamError('level_not_met', `${secrets.walletId} was withdrawn from the register before the answer`);
    if (!levels.satisfies(this.reachable(current), achieved)) throw new UpstreamError('level_not_met', `${secrets.walletId} is not certified for ${levels.format(achieved)}`);

    const allowed = new Set(secrets.attributes);
    const claims: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(credential.claims)) if (allowed.has(k) && v !== undefined && v !== null) claims[k] = v;
    this.log?.info({ wallet: secrets.walletId, vot: levels.format(achieved) }, 'wallet presentation accepted');
    return {
      walletId: secrets.walletId,
      subject: createHash('sha256').update(`${credential.issuer.issuer}\n${credential.subject}`).digest('base64url'),
      achieved,
      vot: levels.format(achieved),
      verifiedClaims: { verification: { trust_framework: 'uk_diatf' }, claims },
    };
  }

  // --- internals ---

  private reachable(policy: WalletProviderPolicy): Vector {
    return { authentication: policy.certified.authentication, confidence: policy.certified.confidence };
  }

  private policyOf(walletId: string): WalletProviderPolicy {
    const policy = this.policies.walletProvider(walletId);
    if (!policy) throw new UpstreamError('provider_failed', `unknown wallet provider ${String(walletId).slice(0, 64)}`);
    return policy;
  }

  /** The broker's verifier identity towards this wallet: x509_hash client id, certificate chain, key. */
  private identity(policy: WalletProviderPolicy): Promise<VerifierIdentity> {
    let found = this.identities.get(policy.id);
    if (!found) {
      found = (async () => {
        const chain = readPemCertificates(this.policies.readFile(policy.broker_verifier.certificate_chain));
        const x5c = chain.map((c) => c.raw.toString('base64'));
        const jwk = JSON.parse(this.policies.readSecret(policy.broker_verifier.private_key)) as JWK;
        const key = (await importJWK(jwk, 'ES256')) as CryptoKey;
        const hash = await calculateX509HashClientIdPrefixValue({ x509Certificate: x5c[0]!, hash: (data) => new Uint8Array(createHash('sha256').update(data).digest()) });
        return { clientId: `x509_hash:${hash}`, x5c, key };
      })();
      found.catch(() => this.identities.delete(policy.id));
      this.identities.set(policy.id, found);
    }
    return found;
  }

  private vp(identity: VerifierIdentity, decryptionKey?: CryptoKey): Openid4vpVerifier {
    return new Openid4vpVerifier({ callbacks: this.callbacks(identity, decryptionKey) });
  }

  private callbacks(identity: VerifierIdentity, decryptionKey?: CryptoKey): Omit<CallbackContext, 'generateRandom' | 'clientAuthentication'> {
    const unsupported = () => {
      throw new Error('not used by the verifier');
    };
    const callbacks: Omit<CallbackContext, 'generateRandom' | 'clientAuthentication'> = {
      hash: (data) => new Uint8Array(createHash('sha256').update(data).digest()),
      signJwt: async (_signer, jwt) => ({
        jwt: await new SignJWT(jwt.payload as Record<string, unknown>).setProtectedHeader(jwt.header as never).sign(identity.key),
        signerJwk: {} as Jwk,
      }),
      verifyJwt: async () => ({ verified: false }),
      encryptJwe: unsupported,
      decryptJwe: async (jwe) => {
        if (!decryptionKey) return { decrypted: false };
        try {
          const { plaintext, protectedHeader } = await compactDecrypt(jwe, decryptionKey, { keyManagementAlgorithms: ['ECDH-ES'], contentEncryptionAlgorithms: ['A128GCM', 'A256GCM'] });
          void protectedHeader;
          return { decrypted: true, decryptionJwk: {} as Jwk, payload: new TextDecoder().decode(plaintext) };
        } catch {
          return { decrypted: false };
        }
      },
    };
    return callbacks;
  }
}

/** For tests: encrypt a response to a request's key (what a wallet does). */
export async function encryptResponseForTest(payload: Record<string, unknown>, publicJwk: JWK): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'ECDH-ES', enc: 'A128GCM', ...(publicJwk.kid ? { kid: publicJwk.kid } : {}) })
    .encrypt(await importJWK(publicJwk, 'ECDH-ES'));
}
