/** The oidc-provider configuration: the broker as the one client, claims, levels, fresh sign-in. */
import { randomBytes } from 'node:crypto';
import type { JWK } from 'jose';
import Provider, { errors, interactionPolicy, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { memoryAdapter } from './adapter.js';
import { requestedAttributes, requestedVectors, verifiedClaims } from './assurance.js';
import { resolveLocale, stringsFor } from './locales.js';
import { messagePage } from './pages.js';
import type { StubContext } from './stub-context.js';

export function createProvider(stub: StubContext, signingKey: JWK): Provider {
  const { options, levels, issuer, idpNameIn, bySubject, facts, resumeUrl } = stub;

  const basePolicy = interactionPolicy.base();
  const loginPrompt = basePolicy.get('login')!;
  // Every authorization signs in afresh: the level reached is worked out per request.
  loginPrompt.checks.add(
    new interactionPolicy.Check('fresh_sign_in', 'this identity provider asks for sign-in on every request', (ctx) =>
      ctx.oidc.result?.login ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT,
    ),
  );

  const configuration: Configuration = {
    adapter: memoryAdapter(() => stub.now().getTime()),
    clients: [
      {
        client_id: options.broker.clientId,
        redirect_uris: options.broker.redirectUris,
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        id_token_signed_response_alg: 'ES256',
        jwks: options.broker.jwks as Configuration['jwks'] & object,
      },
    ],
    clientAuthMethods: ['private_key_jwt'],
    enabledJWA: {
      clientAuthSigningAlgValues: ['ES256'],
      idTokenSigningAlgValues: ['ES256'],
      userinfoSigningAlgValues: ['ES256'],
    },
    jwks: { keys: [signingKey as never] },
    responseTypes: ['code'],
    scopes: ['openid'],
    subjectTypes: ['public'],
    claims: { openid: ['sub', 'acr', 'amr', 'vot', 'vtm', 'ci'], verified_claims: null },
    acrValues: levels.allVectors(),
    extraParams: {
      vtr(ctx: KoaContextWithOIDC, value: string | undefined) {
        try {
          requestedVectors(levels, { vtr: value, acr_values: ctx.oidc.params?.acr_values });
        } catch (error) {
          throw new errors.InvalidRequest((error as Error).message);
        }
      },
    },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: false },
      revocation: { enabled: false },
      introspection: { enabled: false },
      requestObjects: { enabled: false },
    },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    ttl: { AuthorizationCode: 60, AccessToken: 600, IdToken: 600, Interaction: 1800, Session: 1800, Grant: 1800 },
    interactions: {
      policy: basePolicy,
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    loadExistingGrant: async (ctx) => {
      const grantId = ctx.oidc.result?.consent?.grantId;
      return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
    },
    async findAccount(ctx, sub, token) {
      const identity = bySubject.get(sub);
      if (!identity) return undefined;
      const grantId = (token as { grantId?: string } | undefined)?.grantId ?? ctx.oidc.entities.Grant?.jti;
      const f = grantId ? facts.get(grantId) : undefined;
      return {
        accountId: sub,
        async claims(_use, _scope, claims) {
          const out: Record<string, unknown> = { sub };
          if (f && f.accountId === sub) {
            out.acr = f.acr;
            out.vot = f.acr;
            if (f.amr?.length) out.amr = f.amr;
            out.vtm = `${issuer}/trustmark`;
            if (f.fraud) out.ci = ['fraud.suspected'];
            const wanted = requestedAttributes(claims);
            if (claims && 'verified_claims' in claims) out.verified_claims = verifiedClaims(levels, identity, f.confidence, wanted, f.scores);
          }
          return out as { sub: string };
        },
      };
    },
    async renderError(ctx, out) {
      const locale = resolveLocale(ctx as never);
      const t = stringsFor(locale);
      ctx.type = 'html';
      ctx.body = messagePage({
        idpName: idpNameIn(locale),
        locale,
        title: t.problemTitle,
        message: t.requestProblem(`${String(out.error)}${out.error_description ? ` (${String(out.error_description)})` : ''}`),
        link: { href: resumeUrl, text: t.backToJourney },
      });
    },
  };

  const provider = new Provider(issuer, configuration);
  provider.on('server_error', () => undefined);
  return provider;
}
