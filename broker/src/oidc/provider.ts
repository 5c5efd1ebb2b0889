/**
 * The broker towards services: an OpenID Provider (oidc-provider) whose clients are the
 * services onboarded in policies/relying-parties. Logins are never remembered here (no
 * single sign-on at the broker): every authorization goes through a journey.
 */
import { createHash } from 'node:crypto';
import Provider, { errors, interactionPolicy, type Adapter, type AdapterConstructor, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { attributeNameSchema, type Policies, type RelyingPartyPolicy } from '@idbroker/policies';
import { assertPermitted, claimsParameterAttributes, requestedVectors, RequestRefused, SCOPE_ATTRIBUTES, scopeAttributes } from './requested.js';
import { pairwiseSubject } from './pairwise.js';
import { oidcKeys, type OidcRecords } from '../store/oidc-adapter.js';
import type { WriteOp } from '../store/types.js';

/** Claims the broker puts in every ID token it issues (beyond sub). */
export const BROKER_ID_TOKEN_CLAIMS = ['vot', 'vtm', 'txn', 'verified_claims', 'match'] as const;

export interface DeliveredClaims {
  vot: string;
  vtm: string;
  txn: string;
  verified_claims?: { verification: Record<string, unknown>; claims: Record<string, unknown> };
  match?: { result: 'matched' | 'created'; account_ref: string };
}

export interface ProviderOptions {
  issuer: string;
  policies: Policies;
  signingKeys: Record<string, unknown>[];
  cookieKeys: string[];
  pairwiseKey: Uint8Array;
  adapter: AdapterConstructor;
  journeyTtlSeconds: number;
  /** Fetch (and remove) what the citizen consented to release for this grant. */
  takeDelivery(grantId: string): Promise<DeliveredClaims | undefined>;
  /**
   * Keep the verified claims a service asked for at userinfo until its access token expires
   * (`ttlSeconds`), and take them there, once.
   */
  keepForUserinfo(grantId: string, claims: NonNullable<DeliveredClaims['verified_claims']>, ttlSeconds: number): Promise<void>;
  takeForUserinfo(grantId: string): Promise<DeliveredClaims['verified_claims'] | undefined>;
  /** Mark `key` used for `ttlSeconds`: true the first time only (single-use PAR request_uri). */
  useOnce(key: string, ttlSeconds: number): Promise<boolean>;
  renderError(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }, error: Error): Promise<void>;
  trustProxy: boolean;
  /** Where a failed clean-up after a code redemption is reported (the records still go at the journey's deadline). */
  logger?: { warn(obj: object, msg?: string): void };
  /**
   * The end of a journey at its code's redemption in one write: delete the session with this uid
   * (its record and index) and apply `ops` (the code's deletion, the grant's shorter life, kept
   * from the adapter through `records`). Without it (or without `records`), record by record.
   */
  endAtRedemption?: { records: OidcRecords; end(sessionUid: string | undefined, ops: WriteOp[]): Promise<void> };
}

/** oidc-provider's clock (epoch seconds). */
const epochNow = () => Math.floor(Date.now() / 1000);

/**
 * A record's TTL, never past the journey's deadline. The deadline is the interaction's expiry
 * (set once, at the service's authorization request, to the journey's TTL) or, once there is
 * one, the grant's (which is capped at the interaction's when the journey saves it): a record
 * written late in a journey gets what is left of it, not a fresh 90 minutes.
 */
export function untilJourneyDeadline(ctx: KoaContextWithOIDC | undefined, fallback: number): number {
  const entities = ctx?.oidc?.entities;
  const ends = [entities?.Interaction?.exp, entities?.Grant?.exp].filter((e): e is number => typeof e === 'number');
  const left = ends.length ? Math.min(...ends) - epochNow() : fallback;
  return Math.max(1, Math.min(fallback, left));
}

export function clientMetadata(policies: Policies, rp: RelyingPartyPolicy): Record<string, unknown> {
  const base: Record<string, unknown> = {
    client_id: rp.client_id,
    client_name: rp.display_name,
    redirect_uris: rp.redirect_uris,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: rp.token_endpoint_auth_method,
    id_token_signed_response_alg: 'ES256',
    subject_type: 'pairwise',
    // The sector comes from the policy (sector_identifier), and pairwiseIdentifier below uses it.
    // oidc-provider insists on a sector_identifier_uri when redirect URIs span several hosts; this
    // reserved (.invalid) name satisfies it without a fetch (sectorIdentifierUriValidate is off).
    sector_identifier_uri: `https://sector.invalid/${encodeURIComponent(rp.sector_identifier)}`,
  };
  if (rp.token_endpoint_auth_method === 'private_key_jwt') base.token_endpoint_auth_signing_alg = 'ES256';
  if (rp.jwks_uri) base.jwks_uri = rp.jwks_uri;
  else {
    const jwks = policies.relyingPartyJwks(rp);
    if (jwks) base.jwks = jwks;
  }
  if (rp.client_secret) base.client_secret = policies.readSecret(rp.client_secret).trim();
  return base;
}

/**
 * oidc-provider's storage, with its `Client` model answered from the policy in force: a client is
 * the metadata of the service's policy as it is now (oidc-provider caches a client by the hash of
 * its metadata, so a changed policy is a new client, and a removed one is unknown). Nothing else
 * about clients is stored (dynamic registration is off).
 */
export function clientsFromPolicy(Base: AdapterConstructor, policies: Policies): AdapterConstructor {
  const made = new WeakMap<RelyingPartyPolicy, Record<string, unknown>>();
  const metadataOf = (clientId: string) => {
    const rp = policies.relyingParty(clientId);
    if (!rp) return undefined;
    let metadata = made.get(rp);
    if (!metadata) {
      metadata = clientMetadata(policies, rp);
      made.set(rp, metadata);
    }
    return structuredClone(metadata);
  };
  return class PolicyClientsAdapter implements Adapter {
    private readonly inner: Adapter;
    constructor(private readonly name: string) {
      this.inner = new Base(name);
    }
    async find(id: string) {
      if (this.name === 'Client') return metadataOf(id) as never;
      return this.inner.find(id);
    }
    upsert(...args: Parameters<Adapter['upsert']>) {
      if (this.name === 'Client') return Promise.reject(new Error('clients come from the policy: none is stored'));
      return this.inner.upsert(...args);
    }
    findByUserCode(userCode: string) {
      return this.inner.findByUserCode(userCode);
    }
    findByUid(uid: string) {
      return this.inner.findByUid(uid);
    }
    consume(id: string) {
      return this.inner.consume(id);
    }
    destroy(id: string) {
      return this.inner.destroy(id);
    }
    revokeByGrantId(grantId: string) {
      return this.inner.revokeByGrantId(grantId);
    }
  };
}

const ACCESS_TOKEN_TTL = 600;

type ClaimsRequest = { id_token?: Record<string, unknown> | null; userinfo?: Record<string, unknown> | null };

/**
 * Where the verified claims go: to userinfo when the claims parameter asks for them there; to
 * the ID token when it asks for them there, when scopes ask for attributes, or when userinfo
 * was not asked (the broker's default: everything in the ID token).
 */
export function verifiedClaimsGoTo(asked: ClaimsRequest | undefined, scope: string | undefined): { idToken: boolean; userinfo: boolean } {
  const userinfo = asked?.userinfo?.verified_claims !== undefined && asked.userinfo.verified_claims !== null;
  const idToken = !userinfo || (asked?.id_token?.verified_claims !== undefined && asked.id_token.verified_claims !== null) || scopeAttributes(scope).length > 0;
  return { idToken, userinfo };
}

/**
 * oidc-provider treats client_secret_basic and client_secret_post as one method: a client
 * registered for one may use the other. Hold each client to the method it registered.
 */
function holdClientsToTheirAuthMethod(provider: Provider): void {
  type Context = { params?: Record<string, unknown>; ctx: { headers: Record<string, string | string[] | undefined> } };
  const proto = provider.OIDCContext.prototype as unknown as { entity(this: Context, key: string, value: unknown): void };
  const entity = proto.entity;
  proto.entity = function (key, value) {
    entity.call(this, key, value);
    if (key !== 'Client') return;
    const registered = (value as { clientAuthMethod?: string }).clientAuthMethod;
    const inBody = this.params?.client_secret !== undefined;
    const inHeader = /^basic /i.test(String(this.ctx.headers.authorization ?? ''));
    if ((registered === 'client_secret_basic' && inBody) || (registered === 'client_secret_post' && inHeader)) {
      throw new errors.InvalidClientAuth('the provided authentication mechanism does not match the registered client authentication method');
    }
  };
}

/**
 * Every URL the provider names (discovery, redirects to resume a journey, audiences) comes from
 * the configured issuer, never from the request's Host or X-Forwarded-Host.
 */
function urlsFromTheIssuer(provider: Provider): void {
  const proto = provider.OIDCContext.prototype as unknown as { urlFor(name: string, opt?: Record<string, unknown>): string };
  proto.urlFor = (name, opt) => provider.urlFor(name, opt);
}

export function createProvider(options: ProviderOptions): Provider {
  const { policies } = options;
  const levels = policies.levels;
  const acrValues = [...levels.allVectors(), ...Object.keys(levels.acrAliases)];

  const basePolicy = interactionPolicy.base();
  const login = basePolicy.get('login');
  // No single sign-on at the broker: a journey is needed for every authorization.
  login?.checks.add(
    new interactionPolicy.Check('broker_journey', 'every authorization goes through a journey', (ctx) =>
      ctx.oidc.result?.login ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT,
    ),
    0,
  );

  const rpOf = (clientId: string | undefined): RelyingPartyPolicy => {
    const rp = clientId ? policies.relyingParty(clientId) : undefined;
    if (!rp) throw new errors.InvalidClient('unknown client');
    return rp;
  };

  const configuration: Configuration = {
    // The clients are the services of the policy in force, found at each use (not a list fixed at
    // start): a service onboarded on a running broker can sign in at once (see clientsFromPolicy).
    adapter: clientsFromPolicy(options.adapter, policies),
    jwks: { keys: options.signingKeys as never },
    cookies: {
      keys: options.cookieKeys,
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    pkce: { required: () => true },
    // OpenID Connect requires redirect_uri in every authorization request (and token request).
    allowOmittingSingleRegisteredRedirectUri: false,
    // Services are confidential clients calling from their servers: no browser calls the token,
    // PAR or userinfo endpoints cross-origin. (Discovery and the JWKS stay open to any origin.)
    clientBasedCORS: () => false,
    responseTypes: ['code'],
    subjectTypes: ['pairwise'],
    sectorIdentifierUriValidate: () => false,
    acrValues,
    // Standard scopes ask for attributes (SCOPE_ATTRIBUTES); they are released in verified_claims.
    scopes: ['openid', ...Object.keys(SCOPE_ATTRIBUTES)],
    claims: {
      openid: ['sub', ...BROKER_ID_TOKEN_CLAIMS],
    },
    conformIdTokenClaims: false,
    extraParams: {
      vtr(ctx, value, client) {
        const rp = rpOf(client?.clientId);
        try {
          const params = ctx.oidc.params as Record<string, string | undefined>;
          requestedVectors(levels, rp, { vtr: value as string | undefined, acr_values: params.acr_values });
          // Attributes named in the claims parameter must be permitted; those the standard scopes
          // ask for are voluntary (the permitted ones are asked for, the others dropped).
          assertPermitted(rp, claimsParameterAttributes(params.claims));
        } catch (e) {
          if (e instanceof RequestRefused) throw new errors.InvalidRequest(e.message);
          throw e;
        }
      },
    },
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
      userinfo: { enabled: true },
      revocation: { enabled: false },
      introspection: { enabled: false },
      rpInitiatedLogout: { enabled: false },
    },
    enabledJWA: {
      idTokenSigningAlgValues: ['ES256'],
      clientAuthSigningAlgValues: ['ES256', 'PS256', 'RS256'],
      requestObjectSigningAlgValues: ['ES256'],
      userinfoSigningAlgValues: ['ES256'],
    },
    clientAuthMethods: ['private_key_jwt', 'client_secret_basic', 'client_secret_post'],
    discovery: {
      trust_frameworks_supported: ['uk_diatf'],
      // Where a service that matches people itself opens a support case (relying-party-sdk openCase).
      support_case_endpoint: new URL('/support/service-cases', options.issuer.endsWith('/') ? options.issuer : `${options.issuer}/`).href,
      claims_in_verified_claims_supported: [...attributeNameSchema.options],
      evidence_supported: [],
      vtr_supported: levels.allVectors(),
      verified_claims_supported: true,
      service_documentation: 'https://github.com/identity-assurance-broker',
      ui_locales_supported: ['en', 'cy'],
    },
    interactions: {
      async url(ctx, interaction) {
        // A pushed request_uri starts one journey only (RFC 9126: one-time use), not one per visit
        // until the first journey finishes.
        const par = ctx.oidc.entities.PushedAuthorizationRequest as { jti: string } | undefined;
        if (par && !(await options.useOnce(`par-used:{${par.jti}}`, options.journeyTtlSeconds))) {
          await interaction.destroy();
          throw new errors.InvalidRequestUri('request_uri is invalid, expired, or was already used');
        }
        return `/journey/${interaction.uid}`;
      },
      policy: basePolicy,
    },
    // Tokens do not hang on the broker session: it is deleted when the code is redeemed (there is
    // no single sign-on and no logout at the broker), and the access token lives on for userinfo.
    expiresWithSession: () => false,
    // No record outlives the journey's deadline (see untilJourneyDeadline); the Interaction sets it.
    ttl: {
      Interaction: options.journeyTtlSeconds,
      Session: (ctx) => untilJourneyDeadline(ctx, options.journeyTtlSeconds),
      Grant: (ctx) => untilJourneyDeadline(ctx, options.journeyTtlSeconds),
      AuthorizationCode: (ctx) => untilJourneyDeadline(ctx, 60),
      AccessToken: (ctx) => untilJourneyDeadline(ctx, ACCESS_TOKEN_TTL),
      IdToken: 600,
    },
    async pairwiseIdentifier(_ctx, accountId, client) {
      const rp = rpOf(client.clientId);
      return pairwiseSubject(options.pairwiseKey, rp.sector_identifier, accountId);
    },
    async findAccount(ctx, accountId, token) {
      const { grantId, claims: asked, scope } = (token ?? {}) as { grantId?: string; claims?: ClaimsRequest; scope?: string };
      return {
        accountId,
        async claims(use) {
          // The consented claims are released once: into the ID token at the token endpoint, and
          // (what was asked for there) at userinfo.
          if (use === 'id_token' && grantId) {
            const delivered = await options.takeDelivery(grantId);
            // Never an ID token without what the citizen consented to (taken already, or lost).
            if (!delivered) throw new errors.InvalidGrant('the result of this journey is no longer available');
            const { verified_claims: verified, ...rest } = delivered;
            const where = verifiedClaimsGoTo(asked, scope);
            if (verified && where.userinfo) await options.keepForUserinfo(grantId, verified, untilJourneyDeadline(ctx, ACCESS_TOKEN_TTL));
            return { sub: accountId, ...rest, ...(verified && where.idToken ? { verified_claims: verified } : {}) };
          }
          if (use === 'userinfo' && grantId) {
            const verified = await options.takeForUserinfo(grantId);
            return { sub: accountId, ...(verified ? { verified_claims: verified } : {}) };
          }
          return { sub: accountId };
        },
      };
    },
    async assertJwtClientAuthClaimsAndHeader(ctx, claims) {
      if (claims.aud !== undefined) {
        const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
        const issuer = ctx.oidc.issuer;
        const allowed = new Set([issuer, ctx.oidc.urlFor('token'), ctx.oidc.urlFor('pushed_authorization_request')]);
        if (!audiences.some((a: unknown) => typeof a === 'string' && allowed.has(a))) {
          throw new errors.InvalidClientAuth('the client assertion audience must be the broker issuer');
        }
      }
    },
    renderError: options.renderError as Configuration['renderError'],
  };

  const provider = new Provider(options.issuer, configuration);
  // A client assertion (or other proof) used once: one atomic SET NX instead of oidc-provider's
  // find then save (two round trips, and two concurrent requests could both pass the find).
  const replay = provider.ReplayDetection as unknown as { unique(iss: string, jti: string, exp: number): Promise<boolean> };
  replay.unique = (iss, jti, exp) =>
    options.useOnce(`oidc:replay:{${createHash('sha256').update(`${iss}${jti}`).digest('base64url')}}`, Math.max(1, Math.min(exp - epochNow(), options.journeyTtlSeconds)));
  holdClientsToTheirAuthMethod(provider);
  urlsFromTheIssuer(provider);
  provider.use(endJourneyAtRedemption(provider, options.logger, options.endAtRedemption));
  provider.proxy = options.trustProxy;
  // Only the last X-Forwarded-For address is the one the proxy in front saw (see app.ts).
  provider.maxIpsCount = 1;
  if (new URL(options.issuer).protocol === 'https:') {
    // An https issuer: the interaction and session cookies are Secure even when TLS ends at a
    // proxy the broker does not trust (so the hop from it looks like plain http).
    const createContext = provider.createContext.bind(provider);
    provider.createContext = ((req, res) => {
      const ctx = createContext(req, res);
      ctx.cookies.secure = true;
      return ctx;
    }) as typeof provider.createContext;
  }
  return provider;
}

/**
 * When a service redeems its code, the journey is over: the citizen's session at the broker and
 * the code's record are deleted before the token response goes out (the code stays single-use:
 * a second redemption finds nothing), and the grant is kept only as long as the access token it
 * backs (the service may call userinfo with it), never past the journey's deadline.
 */
function endJourneyAtRedemption(provider: Provider, logger?: ProviderOptions['logger'], inOneWrite?: ProviderOptions['endAtRedemption']) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    await next();
    if (ctx.oidc?.route !== 'token' || ctx.status !== 200) return;
    const { AuthorizationCode: code, Grant: grant } = ctx.oidc.entities;
    if (!code) return;
    // The access token just issued lives `expires_in` seconds (oidc-provider keeps no entity of it here).
    const expiresIn = Number((ctx.body as { expires_in?: unknown } | undefined)?.expires_in);
    const shortenGrant = async () => {
      if (!grant) return;
      if (!(expiresIn > 0)) return grant.destroy();
      const tokenExp = epochNow() + Math.ceil(expiresIn);
      grant.exp = Math.min(grant.exp ?? tokenExp, tokenExp);
      await grant.save();
    };
    if (inOneWrite) {
      // The adapter keeps the code's deletion and the grant's write; they go with the session's.
      const { records } = inOneWrite;
      const keys = [oidcKeys.record('AuthorizationCode', code.jti), ...(grant?.jti ? [oidcKeys.record('Grant', grant.jti)] : [])];
      for (const key of keys) records.defer(key);
      try {
        await code.destroy();
        await shortenGrant();
        await inOneWrite.end(code.sessionUid, keys.flatMap((key) => records.take(key)));
      } catch (e) {
        logger?.warn({ err: { message: (e as Error).message } }, 'could not delete the records of a finished journey: they go at its deadline');
      } finally {
        for (const key of keys) records.take(key);
      }
      return;
    }
    try {
      const session = code.sessionUid ? await provider.Session.findByUid(code.sessionUid) : undefined;
      await Promise.all([code.destroy(), session?.destroy(), shortenGrant()]);
    } catch (e) {
      logger?.warn({ err: { message: (e as Error).message } }, 'could not delete the records of a finished journey: they go at its deadline');
    }
  };
}
