/**
 * The broker as an ordinary OpenID client of every certified identity provider (IdP):
 * which IdPs may be offered, the authorization request (PKCE S256, state, nonce,
 * private_key_jwt, one redirect URI per IdP, nothing that names the service), and every
 * check on the way back (signature, iss, aud, nonce, exp, RFC 9207 iss, the level reached
 * against the request and the IdP's certification at that moment, fraud flags).
 */
import * as client from 'openid-client';
import { decodeProtectedHeader, importJWK, type JWK } from 'jose';
import type { Logger } from 'pino';
import { scoresFromEvidence, type AttributeName, type Gpg45Scores, type IdentityProviderPolicy, type Policies, type Vector } from '@idbroker/policies';
import { Circuit } from './circuit.js';
import { UpstreamError } from './errors.js';
import { returnCodeFailure, returnCodesFrom } from './return-codes.js';

export interface UpstreamOptions {
  /** The trust framework; a function is re-read at every call (policies reloaded at run time). */
  policies: Policies | (() => Policies);
  /** The broker's issuer: the redirect URI per IdP is `${brokerIssuer}/idp/${idp.id}/callback`. */
  brokerIssuer: string;
  /** IdP id -> issuer URL, overriding the policy (tests run stubs on free ports). */
  issuerOverrides?: Record<string, string>;
  /** Accept http:// issuers (local federation only). */
  allowInsecureRequests?: boolean;
  /** The clock for certification expiry and the circuit breaker. */
  now?: () => Date;
  /** Health checks and circuit breaker. Defaults: 15000, 2000, 2, 30000. */
  health?: { intervalMs?: number; timeoutMs?: number; failuresToOpen?: number; openForMs?: number };
  /** Timeout of discovery, token and JWKS requests to an IdP. Default 10000. */
  requestTimeoutMs?: number;
  logger?: Logger;
}

/** The secrets of one authorization request, kept in the (encrypted) journey state until the return. */
export interface UpstreamSecrets {
  state: string;
  nonce: string;
  codeVerifier: string;
  idpId: string;
  /** The vectors asked for, formatted ("Cl.Cm.P2"). */
  requested: string[];
  /** The attributes asked for (claims not asked for are dropped on return). */
  attributes?: string[];
}

export interface UpstreamIdentity {
  idpId: string;
  /** The IdP's subject for this person. */
  subject: string;
  /** The vector actually reached. */
  achieved: Vector;
  /** `achieved`, formatted. */
  vot: string;
  verifiedClaims: { verification: Record<string, unknown>; claims: Record<string, unknown> };
}

export type OfferReason = 'not_certified_for_level' | 'certification_expired' | 'certificate_withdrawn' | 'suspended' | 'unavailable';

export interface Offer {
  policy: IdentityProviderPolicy;
  /** Certified for the level, not expired, enabled: shown in the picker. */
  offered: boolean;
  /** Offered and healthy: may be chosen now (an offered but unavailable IdP is shown greyed). */
  available: boolean;
  reason?: OfferReason;
}

export interface AuthorizationRequest {
  requested: readonly Vector[];
  /**
   * The attributes to ask the provider for. The journey passes the federation's standard set
   * (broker.yaml identity_provider_request), never a service's own list.
   */
  attributes: readonly AttributeName[];
  uiLocales?: string;
}

/** The only ID token signature algorithms accepted from an IdP. */
export const ACCEPTED_ID_TOKEN_ALGS = ['ES256', 'RS256', 'PS256'] as const;
const TRUST_FRAMEWORK = 'uk_diatf';
/** How far ahead of the broker's clock an IdP's clock may be. */
const CLOCK_SKEW_SECONDS = 60;
const UI_LOCALES = /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*( [A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*){0,4}$/;

/** End of the day the certification expires (as the policy loader reads it). */
export function certificationExpired(policy: Pick<IdentityProviderPolicy, 'certification_expires'>, now: Date): boolean {
  return new Date(`${policy.certification_expires}T23:59:59Z`) < now;
}

export class IdentityProviders {
  private readonly configs = new Map<string, Promise<client.Configuration>>();
  private readonly circuits = new Map<string, Circuit>();
  private readonly probes = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly now: () => Date;
  private readonly health: Required<NonNullable<UpstreamOptions['health']>>;
  private readonly log: Logger | undefined;

  static create(options: UpstreamOptions): IdentityProviders {
    return new IdentityProviders(options);
  }

  private constructor(private readonly options: UpstreamOptions) {
    this.now = options.now ?? (() => new Date());
    this.health = {
      intervalMs: options.health?.intervalMs ?? 15_000,
      timeoutMs: options.health?.timeoutMs ?? 2_000,
      failuresToOpen: options.health?.failuresToOpen ?? 2,
      openForMs: options.health?.openForMs ?? 30_000,
    };
    this.log = options.logger?.child({ component: 'upstream' });
  }

  private get policies(): Policies {
    const p = this.options.policies;
    return typeof p === 'function' ? p() : p;
  }

  /** Start the periodic health checks (the timer does not keep the process alive). */
  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => void this.checkHealth().catch(() => undefined), this.health.intervalMs);
    this.timer.unref();
  }

  /** Stop the health checks and wait for any probe in flight. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.probes.values()]);
  }

  /** Every IdP with whether it may be offered for these vectors now, and why not. */
  offer(requested: readonly Vector[]): Offer[] {
    const now = this.now();
    const policies = this.policies;
    const { levels } = policies;
    return policies.identityProviders.map((policy) => {
      const certified = { confidence: policy.certified.confidence, authentication: policy.certified.authentication };
      let reason: OfferReason | undefined;
      if (policy.status !== 'enabled') reason = 'suspended';
      else if (certificationExpired(policy, now)) reason = 'certification_expired';
      else if (policy.certification.register.status !== 'listed') reason = 'certificate_withdrawn';
      else if (!levels.satisfiesAny(certified, requested)) reason = 'not_certified_for_level';
      const offered = reason === undefined;
      const circuit = this.circuit(policy.id);
      if (offered && circuit.state === 'half-open') this.probeInBackground(policy.id);
      const available = offered && circuit.available;
      if (offered && !available) reason = 'unavailable';
      return { policy, offered, available, ...(reason ? { reason } : {}) };
    });
  }

  /** The redirect URL to send the citizen to, and the secrets to keep in the journey state. */
  async beginAuthorization(idpId: string, request: AuthorizationRequest): Promise<{ url: URL; secrets: UpstreamSecrets }> {
    return this.logged(idpId, 'authorization request', () => this.begin(idpId, request));
  }

  /** Check everything about the return from the IdP, and what was reached. Throws UpstreamError. */
  async completeAuthorization(idpId: string, callbackUrl: URL, secrets: UpstreamSecrets): Promise<UpstreamIdentity> {
    return this.logged(idpId, 'identity provider return', () => this.complete(idpId, callbackUrl, secrets));
  }

  private async logged<T>(idpId: string, what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      const error = classify(e);
      this.log?.warn({ idp: String(idpId).slice(0, 64), reason: error.reason, detail: error.detail }, `${what} refused`);
      throw error;
    }
  }

  private async begin(idpId: string, request: AuthorizationRequest): Promise<{ url: URL; secrets: UpstreamSecrets }> {
    const policy = this.policyOf(idpId);
    const { levels } = this.policies;
    if (request.requested.length === 0) throw new UpstreamError('level_not_met', 'no level requested');
    const refusal = this.offer(request.requested).find((o) => o.policy.id === idpId);
    if (refusal && !refusal.offered) throw new UpstreamError('level_not_met', `${idpId} may not be used: ${refusal.reason}`);
    if (this.circuit(idpId).state === 'open') throw new UpstreamError('provider_failed', `${idpId} is unavailable (circuit open)`);

    const config = await this.track(idpId, () => this.configuration(policy));
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const requested = request.requested.map((v) => levels.format(v));
    const params: Record<string, string> = {
      redirect_uri: this.redirectUri(idpId),
      response_type: 'code',
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      vtr: JSON.stringify(requested),
    };
    // Always ask for the evidence (the GPG 45 scores decide the level), with the attributes asked for.
    params.claims = JSON.stringify({
      id_token: {
        verified_claims: {
          verification: { trust_framework: null, evidence: null },
          claims: Object.fromEntries(request.attributes.map((a) => [a, null])),
        },
      },
    });
    if (request.uiLocales && UI_LOCALES.test(request.uiLocales)) params.ui_locales = request.uiLocales;
    const url = client.buildAuthorizationUrl(config, params);
    return { url, secrets: { state, nonce, codeVerifier, idpId, requested, attributes: [...request.attributes] } };
  }

  private async complete(idpId: string, callbackUrl: URL, secrets: UpstreamSecrets): Promise<UpstreamIdentity> {
    const policy = this.policyOf(idpId);
    if (secrets.idpId !== idpId) throw new UpstreamError('invalid_response', `journey secrets belong to ${secrets.idpId}, callback to ${idpId}`);
    const redirectUri = this.redirectUri(idpId);
    if (!callbackUrl.pathname.endsWith(new URL(redirectUri).pathname)) {
      throw new UpstreamError('invalid_response', `callback path ${callbackUrl.pathname} is not the redirect URI of ${idpId}`);
    }
    // Use our own canonical redirect URI (exactly what was sent), with the response parameters.
    const current = new URL(redirectUri);
    current.search = callbackUrl.search;
    const params = current.searchParams;

    const config = await this.track(idpId, () => this.configuration(policy));
    const metadata = config.serverMetadata();
    const iss = params.get('iss');
    if (iss !== null && iss !== metadata.issuer) {
      throw new UpstreamError('invalid_response', `mix-up: response iss is not the issuer of ${idpId}`);
    }
    if (params.getAll('state').length !== 1 || params.get('state') !== secrets.state) {
      throw new UpstreamError('invalid_response', 'state does not match the journey');
    }
    const error = params.get('error');
    if (error !== null) {
      // Validated like any response (iss and state checked above, and again by the library).
      if (error === 'access_denied') {
        // Return codes say why the provider could not verify the person (upstream/return-codes.ts).
        const codes = returnCodesFrom(params.get('error_description'));
        if (codes) throw returnCodeFailure(idpId, codes, this.policies.broker.return_codes);
        throw new UpstreamError('cancelled', `${idpId} answered access_denied`);
      }
      if (error === 'server_error' || error === 'temporarily_unavailable') {
        this.failed(idpId);
        throw new UpstreamError('provider_failed', `${idpId} answered ${error}`);
      }
      throw new UpstreamError('provider_failed', `${idpId} answered error ${error.slice(0, 64)}`);
    }

    // Suspended meanwhile: its code is not redeemed (nothing more is taken from it).
    if (this.policies.identityProvider(idpId)?.status !== 'enabled') throw new UpstreamError('provider_failed', `${idpId} is no longer enabled (suspended during the journey)`);
    const tokens = await this.track(idpId, () =>
      client.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: secrets.codeVerifier,
        expectedState: secrets.state,
        expectedNonce: secrets.nonce,
        idTokenExpected: true,
      }),
    );
    if (!tokens.id_token) throw new UpstreamError('invalid_response', 'no ID token');
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(tokens.id_token).alg;
    } catch {
      throw new UpstreamError('invalid_response', 'ID token header cannot be read');
    }
    if (!alg || !(ACCEPTED_ID_TOKEN_ALGS as readonly string[]).includes(alg)) {
      throw new UpstreamError('invalid_response', `ID token alg ${String(alg).slice(0, 16)} is not accepted`);
    }
    const claims = tokens.claims() as Record<string, unknown> | undefined;
    if (!claims || typeof claims.sub !== 'string' || claims.sub.length === 0) throw new UpstreamError('invalid_response', 'ID token without sub');
    // Issued in the future (beyond clock skew): refused, as exp in the past is. The wall clock,
    // as the library uses for exp.
    if (typeof claims.iat !== 'number' || claims.iat > Date.now() / 1000 + CLOCK_SKEW_SECONDS) {
      throw new UpstreamError('invalid_response', 'unexpected JWT "iat" (issued at) claim value: in the future');
    }

    const ci = claims.ci;
    if (ci !== undefined && ci !== null && ci !== '' && !(Array.isArray(ci) && ci.length === 0)) {
      throw new UpstreamError('fraud_flagged', `${idpId} flagged contra-indicators`);
    }

    // The level reached: vot, or acr (a vector or an alias from levels.yaml).
    const { levels } = this.policies;
    const raw = typeof claims.vot === 'string' ? claims.vot : typeof claims.acr === 'string' ? (levels.acrAliases[claims.acr] ?? claims.acr) : undefined;
    if (raw === undefined) throw new UpstreamError('invalid_response', 'ID token names no level reached (vot or acr)');
    let claimed: Vector;
    let requested: Vector[];
    try {
      claimed = levels.parseVector(raw);
    } catch {
      throw new UpstreamError('invalid_response', 'ID token vot is not a known vector');
    }
    try {
      requested = secrets.requested.map((v) => levels.parseVector(v));
    } catch {
      throw new UpstreamError('invalid_response', 'journey secrets name an unknown vector');
    }
    if (!levels.satisfiesAny(claimed, requested)) {
      throw new UpstreamError('level_not_met', `reached ${levels.format(claimed)}, asked for ${secrets.requested.join(' or ')}`);
    }
    // Within the IdP's certification at this moment (re-read the policy: it may have changed).
    const current_ = this.policies.identityProvider(idpId);
    const now = this.now();
    // Suspended (or taken out of the policy) while the person was there: the federation no longer
    // accepts its answers. That is the provider's side, not the person's (no "more thorough check"
    // would help): they are told so and offered the other providers.
    if (!current_ || current_.status !== 'enabled') throw new UpstreamError('provider_failed', `${idpId} is no longer enabled (suspended or removed during the journey)`);
    if (certificationExpired(current_, now)) throw new UpstreamError('level_not_met', `${idpId} certification expired before the return`);
    if (current_.certification.register.status !== 'listed') throw new UpstreamError('level_not_met', `${idpId} was withdrawn from the register before the return`);
    const verifiedClaims = this.verifiedClaims(claims.verified_claims, secrets.attributes);
    // The label is a claim: the evidence decides (GPG 45 scores for confidence, amr for authentication).
    const achieved = this.decideLevel(idpId, current_, claimed, claims);
    const certified = { confidence: current_.certified.confidence, authentication: current_.certified.authentication };
    if (!levels.satisfies(certified, achieved)) {
      throw new UpstreamError('level_not_met', `${idpId} is not certified for the ${levels.format(achieved)} it claims`);
    }

    this.log?.info({ idp: idpId, vot: levels.format(achieved) }, 'identity provider return accepted');
    return { idpId, subject: claims.sub, achieved, vot: levels.format(achieved), verifiedClaims };
  }

  /**
   * Check the claimed level against the evidence: the GPG 45 scores in verified_claims must meet
   * a profile of the claimed confidence that the IdP's certificate covers, and the amr must meet
   * the claimed authentication (levels.yaml). Returns the level reached (the claim, when the
   * evidence supports it). Throws level_not_met otherwise; the detail has no personal data.
   */
  private decideLevel(idpId: string, policy: IdentityProviderPolicy, claimed: Vector, claims: Record<string, unknown>): Vector {
    const { levels } = this.policies;
    const vc = claims.verified_claims;
    const verification = vc && typeof vc === 'object' && !Array.isArray(vc) ? (vc as Record<string, unknown>).verification : undefined;
    const evidence = verification && typeof verification === 'object' ? (verification as Record<string, unknown>).evidence : undefined;
    let scores: Gpg45Scores | undefined;
    try {
      scores = scoresFromEvidence(evidence);
    } catch (e) {
      throw new UpstreamError('invalid_response', `GPG 45 scores: ${(e as Error).message}`);
    }
    const decided = levels.confidenceFromScores(scores, policy.certification.profiles);
    if (levels.confidenceRank(claimed.confidence) > levels.confidenceRank(decided.confidence)) {
      if (!scores) throw new UpstreamError('level_not_met', `${idpId} claims ${levels.format(claimed)} without GPG 45 scores`);
      const anyProfile = levels.confidenceFromScores(scores);
      const beyond = levels.confidenceRank(anyProfile.confidence) >= levels.confidenceRank(claimed.confidence);
      throw new UpstreamError(
        'level_not_met',
        beyond
          ? `${idpId} is not certified for the ${claimed.confidence} it claims: scores ${levels.formatScores(scores)} meet ${anyProfile.profile}, which is not on its certificate`
          : `${idpId} claims ${claimed.confidence}: scores ${levels.formatScores(scores)} meet no ${claimed.confidence} profile (reach ${decided.confidence})`,
      );
    }
    const amr = Array.isArray(claims.amr) ? claims.amr.filter((v): v is string => typeof v === 'string') : undefined;
    const authentication = levels.authenticationFromAmr(amr);
    if (levels.authenticationRank(claimed.authentication) > (authentication ? levels.authenticationRank(authentication) : -1)) {
      throw new UpstreamError(
        'level_not_met',
        `${idpId} claims ${claimed.authentication}: amr [${(amr ?? []).join(' ').slice(0, 64)}] meets ${authentication ?? 'no authentication level'}`,
      );
    }
    return claimed;
  }

  /** One round of health checks now (all IdPs, or one). */
  async checkHealth(idpId?: string): Promise<void> {
    const ids = idpId ? [this.policyOf(idpId).id] : this.policies.identityProviders.map((p) => p.id);
    await Promise.all(ids.map((id) => this.probe(id)));
  }

  /** The circuit's state for one IdP (for metrics and tests). */
  healthOf(idpId: string): { state: 'closed' | 'open' | 'half-open'; consecutiveFailures: number } {
    const c = this.circuit(idpId);
    return { state: c.state, consecutiveFailures: c.consecutiveFailures };
  }

  // --- internals ---

  private policyOf(idpId: string): IdentityProviderPolicy {
    const policy = this.policies.identityProvider(idpId);
    if (!policy) throw new UpstreamError('provider_failed', `unknown identity provider ${String(idpId).slice(0, 64)}`);
    return policy;
  }

  private redirectUri(idpId: string): string {
    return `${this.options.brokerIssuer.replace(/\/+$/, '')}/idp/${idpId}/callback`;
  }

  private issuerOf(policy: IdentityProviderPolicy): string {
    return this.options.issuerOverrides?.[policy.id] ?? policy.issuer;
  }

  private circuit(idpId: string): Circuit {
    let c = this.circuits.get(idpId);
    if (!c) {
      c = new Circuit({ failuresToOpen: this.health.failuresToOpen, openForMs: this.health.openForMs, now: this.now });
      this.circuits.set(idpId, c);
    }
    return c;
  }

  /** Discovery, once per IdP (a failed discovery is forgotten, so the next call tries again). */
  private configuration(policy: IdentityProviderPolicy): Promise<client.Configuration> {
    // A policy naming another client or key (a policy change at run time) is set up anew.
    const key = `${policy.id} ${this.issuerOf(policy)} ${policy.broker_client.client_id} ${JSON.stringify(policy.broker_client.private_key)}`;
    let config = this.configs.get(key);
    if (!config) {
      config = this.discover(policy);
      this.configs.set(key, config);
      config.catch(() => this.configs.delete(key));
    }
    return config;
  }

  private async discover(policy: IdentityProviderPolicy): Promise<client.Configuration> {
    let jwk: JWK;
    try {
      jwk = JSON.parse(this.policies.readSecret(policy.broker_client.private_key)) as JWK;
    } catch {
      throw new UpstreamError('provider_failed', `the broker client key for ${policy.id} cannot be read`);
    }
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.d || (jwk.alg && jwk.alg !== 'ES256')) {
      throw new UpstreamError('provider_failed', `the broker client key for ${policy.id} is not a private ES256 JWK`);
    }
    const key = (await importJWK(jwk, 'ES256')) as CryptoKey;
    const timeout = Math.max(1, Math.ceil((this.options.requestTimeoutMs ?? 10_000) / 1000));
    const config = await client.discovery(
      new URL(this.issuerOf(policy)),
      policy.broker_client.client_id,
      { redirect_uris: [this.redirectUri(policy.id)], token_endpoint_auth_method: 'private_key_jwt' },
      client.PrivateKeyJwt(jwk.kid ? { key, kid: jwk.kid } : key),
      { timeout, ...(this.options.allowInsecureRequests ? { execute: [client.allowInsecureRequests] } : {}) },
    );
    config.timeout = timeout;
    client.enableNonRepudiationChecks(config);
    return config;
  }

  /** Run a request to an IdP: classify its failure, and count provider failures in the circuit. */
  private async track<T>(idpId: string, run: () => Promise<T>): Promise<T> {
    try {
      const result = await run();
      this.circuit(idpId).success();
      return result;
    } catch (e) {
      const error = classify(e);
      if (error.reason === 'provider_failed') this.failed(idpId);
      throw error;
    }
  }

  /** Count a failure; when it opens the circuit, forget the discovered metadata (rediscover on recovery). */
  private failed(idpId: string): void {
    if (!this.circuit(idpId).failure()) return;
    for (const key of this.configs.keys()) if (key.startsWith(`${idpId} `)) this.configs.delete(key);
    this.log?.warn({ idp: idpId }, 'identity provider circuit opened');
  }

  private probeInBackground(idpId: string): void {
    if (this.closed) return;
    void this.probe(idpId).catch(() => undefined);
  }

  /** One health probe of one IdP (deduplicated; none while the circuit is open). */
  private probe(idpId: string): Promise<void> {
    const running = this.probes.get(idpId);
    if (running) return running;
    const circuit = this.circuit(idpId);
    if (!circuit.mayProbe) return Promise.resolve();
    const policy = this.policies.identityProvider(idpId);
    if (!policy) return Promise.resolve();
    const p = (async () => {
      const issuer = this.issuerOf(policy);
      if (!this.options.allowInsecureRequests && !issuer.startsWith('https://')) {
        this.failed(idpId);
        this.log?.warn({ idp: idpId }, 'identity provider issuer is not https');
        return;
      }
      const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(this.health.timeoutMs), redirect: 'manual', headers: { accept: 'application/json' } });
        if (response.status !== 200) {
          await response.body?.cancel();
          throw new Error(`status ${response.status}`);
        }
        const body = (await response.json()) as { issuer?: unknown };
        if (body.issuer !== issuer) throw new Error('metadata names another issuer');
        const wasOpen = circuit.state !== 'closed';
        circuit.success();
        if (wasOpen) this.log?.info({ idp: idpId }, 'identity provider healthy again');
      } catch (e) {
        this.failed(idpId);
        this.log?.warn({ idp: idpId, detail: e instanceof Error ? e.message : 'failed' }, 'identity provider health check failed');
      }
    })().finally(() => this.probes.delete(idpId));
    this.probes.set(idpId, p);
    return p;
  }

  private verifiedClaims(value: unknown, attributes: readonly string[] | undefined): UpstreamIdentity['verifiedClaims'] {
    if (value === undefined || value === null) {
      if (attributes && attributes.length > 0) throw new UpstreamError('invalid_response', 'verified_claims missing');
      return { verification: {}, claims: {} };
    }
    if (typeof value !== 'object' || Array.isArray(value)) throw new UpstreamError('invalid_response', 'verified_claims is not an object');
    const { verification, claims } = value as Record<string, unknown>;
    if (!verification || typeof verification !== 'object' || Array.isArray(verification)) {
      throw new UpstreamError('invalid_response', 'verified_claims without verification');
    }
    if ((verification as Record<string, unknown>).trust_framework !== TRUST_FRAMEWORK) {
      throw new UpstreamError('invalid_response', `verified_claims trust_framework is not ${TRUST_FRAMEWORK}`);
    }
    if (claims !== undefined && (claims === null || typeof claims !== 'object' || Array.isArray(claims))) {
      throw new UpstreamError('invalid_response', 'verified_claims.claims is not an object');
    }
    const allowed = new Set<string>(attributes ?? []);
    const kept: Record<string, unknown> = {};
    for (const [name, v] of Object.entries((claims ?? {}) as Record<string, unknown>)) {
      if (allowed.has(name) && v !== undefined && v !== null) kept[name] = v;
    }
    return { verification: { ...(verification as Record<string, unknown>) }, claims: kept };
  }
}

/** Map whatever failed into the journey's terms. Security failures are invalid_response. */
function classify(e: unknown): UpstreamError {
  if (e instanceof UpstreamError) return e;
  if (e instanceof client.AuthorizationResponseError) {
    if (e.error === 'access_denied') return new UpstreamError('cancelled', 'access_denied', { cause: e });
    return new UpstreamError('provider_failed', `authorization error ${String(e.error).slice(0, 64)}`, { cause: e });
  }
  if (e instanceof client.ResponseBodyError) {
    if (e.status >= 500 || e.error === 'server_error' || e.error === 'temporarily_unavailable') {
      return new UpstreamError('provider_failed', `token endpoint ${e.status} ${e.error}`, { cause: e });
    }
    return new UpstreamError('invalid_response', `token endpoint refused: ${e.status} ${String(e.error).slice(0, 64)}`, { cause: e });
  }
  if (e instanceof client.ClientError) {
    const cause = e.cause;
    if (e.code === 'OAUTH_TIMEOUT' || (cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError'))) {
      return new UpstreamError('provider_failed', 'timed out', { cause: e });
    }
    if (cause instanceof Response) {
      return cause.status >= 500
        ? new UpstreamError('provider_failed', `HTTP ${cause.status} from the identity provider`, { cause: e })
        : new UpstreamError('invalid_response', `unexpected HTTP ${cause.status} from the identity provider`, { cause: e });
    }
    const why = cause instanceof Error ? cause.message : e.message;
    return new UpstreamError('invalid_response', `${e.code ?? 'client error'}: ${why}`.slice(0, 200), { cause: e });
  }
  if (e instanceof client.WWWAuthenticateChallengeError) {
    return new UpstreamError('invalid_response', 'the identity provider refused the client authentication', { cause: e });
  }
  if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) {
    return new UpstreamError('provider_failed', 'timed out', { cause: e });
  }
  if (e instanceof TypeError && /fetch failed|network|socket/i.test(e.message)) {
    return new UpstreamError('provider_failed', `network: ${e.message}`, { cause: e });
  }
  return new UpstreamError('invalid_response', e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 200) : 'unknown failure', { cause: e });
}
