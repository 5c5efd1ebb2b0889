/**
 * A certifiable identity provider for development, demos and tests: an OpenID Provider
 * (oidc-provider) with the demo identities, password + one-time code + passkey sign-in,
 * levels as vectors (acr/vot), OIDC for Identity Assurance `verified_claims`, and switches
 * that make it fail on purpose.
 */
import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parse as parseQuery } from 'node:querystring';
import { fileURLToPath } from 'node:url';
import type { IdentityProviderPolicy, Levels, Vector } from '@idbroker/policies';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticatorTransport as AuthenticatorTransportFuture,
  type WebAuthnCredential,
} from '@simplewebauthn/server';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type Koa from 'koa';
import Provider, { errors, interactionPolicy, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import {
  achievedVector,
  authenticationNeeded,
  requestedAttributes,
  requestedVectors,
  targetVector,
  verifiedClaims,
  type Authentication,
} from './assurance.js';
import { memoryAdapter } from './adapter.js';
import { loadIdentities, subjectFor, type DemoIdentity } from './identities.js';
import { messagePage, registerPasskeyPage, secondStepPage, signInPage } from './pages.js';
import { verifyPassword } from './passwords.js';
import { parseSwitches, switchesFromEnv, type Switches } from './switches.js';

export type { DemoIdentity, PostalAddress } from './identities.js';
export { loadIdentities, subjectFor, defaultIdentitiesFile } from './identities.js';
export type { Switches, FailMode } from './switches.js';
export { switchesFromEnv, failModes } from './switches.js';
export { hashPassword, verifyPassword } from './passwords.js';

export interface IdpStubOptions {
  policy: IdentityProviderPolicy;
  levels: Levels;
  /** Default: the port of `issuer`. 0 picks a free one (then `issuer` must not name a port). */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1 (loopback only); 0.0.0.0 in a container. */
  host?: string;
  /** Default: policy.issuer. Tests pass http://127.0.0.1:<free port>. */
  issuer?: string;
  /** The broker, the one client of this IdP. */
  broker: { clientId: string; jwks: { keys: JWK[] }; redirectUris: string[] };
  /** Default: idp-stub/data/identities.yaml. */
  identities?: DemoIdentity[];
  /** Bearer token for /admin/switches. Without one, /admin answers 404. */
  adminToken?: string;
  /** Starting switches. Default: from IDP_STUB_FAIL and IDP_STUB_DELAY_MS. */
  switches?: Partial<Switches>;
  /** ES256 private JWK signing ID tokens. Default: a new key. */
  signingKey?: JWK;
  now?: () => Date;
}

export interface RecordedRequest {
  method: string;
  /** Path and query. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** The body as text ('' when none). */
  body: string;
}

export interface IdpStub {
  /** Base URL, the same as the issuer. */
  readonly url: string;
  readonly issuer: string;
  readonly port: number;
  /** The current switches; assign to change them (merged). */
  switches: Switches;
  /** Every request received, in order (for privacy tests). */
  readonly requests: RecordedRequest[];
  /** Passkeys registered at this stub, by username. */
  readonly passkeys: ReadonlyMap<string, readonly WebAuthnCredential[]>;
  close(): Promise<void>;
}

interface LoginFacts {
  accountId: string;
  username: string;
  acr: string;
  confidence: string;
  fraud: boolean;
  at: number;
}

interface InteractionState {
  csrf: string;
  username?: string;
  otp?: { code: string; used: boolean; attempts: number };
  challenge?: string;
  createdAt: number;
}

interface PasskeySession {
  username: string;
  csrf: string;
  challenge?: string;
  exp: number;
}

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const staticFiles: Record<string, { type: string; file: string }> = {
  '/static/style.css': { type: 'text/css; charset=utf-8', file: join(here, '..', 'public', 'style.css') },
  '/static/passkey.js': { type: 'text/javascript; charset=utf-8', file: join(here, '..', 'public', 'passkey.js') },
  '/static/simplewebauthn-browser.js': {
    type: 'text/javascript; charset=utf-8',
    file: join(dirname(require.resolve('@simplewebauthn/browser')), '..', 'dist', 'bundle', 'index.umd.min.js'),
  },
};

const FACTS_TTL_MS = 60 * 60 * 1000;
const PASSKEY_COOKIE = 'idp_stub_passkeys';

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function phoneEnding(phone: string): string {
  return phone.replace(/\D/g, '').slice(-3);
}

export async function startIdpStub(options: IdpStubOptions): Promise<IdpStub> {
  const { policy, levels } = options;
  const now = options.now ?? (() => new Date());
  const issuer = (options.issuer ?? policy.issuer).replace(/\/$/, '');
  const issuerUrl = new URL(issuer);
  const origin = issuerUrl.origin;
  const rpID = issuerUrl.hostname;
  const idpName = policy.display_name;
  const identities = options.identities ?? loadIdentities();
  const bySubject = new Map(identities.map((i) => [subjectFor(policy.id, i.username), i]));
  const byUsername = new Map(identities.map((i) => [i.username, i]));
  let switches: Switches = { ...switchesFromEnv(), ...options.switches };
  const requests: RecordedRequest[] = [];
  const facts = new Map<string, LoginFacts>();
  const interactions = new Map<string, InteractionState>();
  const passkeys = new Map<string, WebAuthnCredential[]>();
  const passkeySessions = new Map<string, PasskeySession>();

  let signingKey = options.signingKey;
  if (!signingKey) {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    signingKey = { ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: randomBytes(8).toString('base64url') };
  }

  const prune = () => {
    const t = now().getTime();
    for (const [k, f] of facts) if (t - f.at > FACTS_TTL_MS) facts.delete(k);
    for (const [k, s] of interactions) if (t - s.createdAt > FACTS_TTL_MS) interactions.delete(k);
    for (const [k, s] of passkeySessions) if (s.exp < t) passkeySessions.delete(k);
  };

  const basePolicy = interactionPolicy.base();
  const loginPrompt = basePolicy.get('login')!;
  // Every authorization signs in afresh: the level reached is worked out per request.
  loginPrompt.checks.add(
    new interactionPolicy.Check('fresh_sign_in', 'this identity provider asks for sign-in on every request', (ctx) =>
      ctx.oidc.result?.login ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT,
    ),
  );

  const configuration: Configuration = {
    adapter: memoryAdapter(() => now().getTime()),
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
    claims: { openid: ['sub', 'acr', 'vot', 'vtm', 'ci'], verified_claims: null },
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
            out.vtm = `${issuer}/trustmark`;
            if (f.fraud) out.ci = ['fraud.suspected'];
            const wanted = requestedAttributes(claims);
            if (claims && 'verified_claims' in claims) out.verified_claims = verifiedClaims(levels, identity, f.confidence, wanted);
          }
          return out as { sub: string };
        },
      };
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = messagePage(
        idpName,
        'Sorry, there is a problem',
        `The request could not be handled: ${String(out.error)}${out.error_description ? ` (${String(out.error_description)})` : ''}.`,
      );
    },
  };

  const provider = new Provider(issuer, configuration);
  provider.on('server_error', () => undefined);

  // ---- helpers over the interaction ----
  type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

  const stateFor = (uid: string): InteractionState => {
    let s = interactions.get(uid);
    if (!s) {
      s = { csrf: randomBytes(16).toString('base64url'), createdAt: now().getTime() };
      interactions.set(uid, s);
    }
    return s;
  };

  const target = (details: Details): Vector => {
    const requested = requestedVectors(levels, details.params as { vtr?: string; acr_values?: string });
    return targetVector(levels, policy, requested);
  };

  const finish = async (ctx: Koa.Context, result: Record<string, unknown>, merge = false) => {
    const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
    ctx.status = 303;
    ctx.redirect(to);
  };

  const finishLogin = async (ctx: Koa.Context, uid: string, details: Details, identity: DemoIdentity, performed: Authentication) => {
    const vector = achievedVector(levels, policy, target(details), identity, performed, switches.fail === 'lower-level');
    const acr = levels.format(vector);
    const accountId = subjectFor(policy.id, identity.username);
    const amr = performed === 'Cl' ? ['pwd'] : performed === 'Cl.Cm' ? ['pwd', 'otp'] : ['pwd', 'hwk', 'user'];
    interactions.delete(uid);
    await finish(ctx, {
      login: { accountId, acr, amr, remember: false },
      idpStub: { username: identity.username, acr, confidence: vector.confidence, fraud: switches.fail === 'fraud' },
    });
  };

  const failIfSwitched = async (ctx: Koa.Context): Promise<boolean> => {
    if (switches.fail === 'deny') {
      await finish(ctx, { error: 'access_denied', error_description: 'The identity provider could not confirm who you are' });
      return true;
    }
    if (switches.fail === 'error') {
      await finish(ctx, { error: 'server_error', error_description: 'The identity provider had a problem' });
      return true;
    }
    return false;
  };

  const html = (ctx: Koa.Context, body: string, status = 200) => {
    ctx.status = status;
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = body;
  };

  const form = (ctx: Koa.Context): Record<string, string> => {
    const raw = (ctx.req as { body?: string }).body ?? '';
    const parsed = parseQuery(raw);
    return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, Array.isArray(v) ? (v[0] ?? '') : (v ?? '')]));
  };

  const renderSecondStep = (ctx: Koa.Context, uid: string, s: InteractionState, needs: Authentication, errs?: { code?: string; passkey?: string }, status = 200) => {
    const identity = byUsername.get(s.username!)!;
    const allowCode = needs === 'Cl.Cm';
    if (allowCode && (!s.otp || s.otp.used)) s.otp = { code: String(randomInt(0, 1_000_000)).padStart(6, '0'), used: false, attempts: 0 };
    html(
      ctx,
      secondStepPage({
        idpName,
        uid,
        csrf: s.csrf,
        allowCode,
        code: s.otp?.code,
        phoneEnding: phoneEnding(identity.phone),
        hasPasskey: (passkeys.get(identity.username) ?? []).length > 0,
        errors: errs,
      }),
      status,
    );
  };

  // ---- interaction routes ----
  const interactionRoutes = async (ctx: Koa.Context, uid: string, action: string) => {
    let details: Details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch {
      html(ctx, messagePage(idpName, 'Your session has ended', 'Go back to the service you came from and start again.'), 400);
      return;
    }
    if (details.uid !== uid) {
      html(ctx, messagePage(idpName, 'Your session has ended', 'Go back to the service you came from and start again.'), 400);
      return;
    }
    const s = stateFor(uid);
    const prompt = details.prompt.name;

    if (prompt === 'consent') {
      // The broker is the only client and the citizen consents at the broker: grant what was asked.
      const last = (details.lastSubmission ?? {}) as { login?: { accountId?: string }; idpStub?: Omit<LoginFacts, 'accountId' | 'at'> };
      const accountId = details.session?.accountId ?? last.login?.accountId;
      if (!accountId || !last.idpStub) {
        await finish(ctx, { error: 'login_required', error_description: 'Sign in again' });
        return;
      }
      const grant = new provider.Grant({ accountId, clientId: options.broker.clientId });
      grant.addOIDCScope('openid');
      const missing = (details.prompt.details.missingOIDCClaims as string[] | undefined) ?? [];
      grant.addOIDCClaims([...new Set([...missing, 'sub', 'acr', 'vot', 'vtm', 'ci'])]);
      const grantId = await grant.save();
      facts.set(grantId, { ...last.idpStub, accountId, at: now().getTime() });
      interactions.delete(uid);
      await finish(ctx, { consent: { grantId } }, true);
      return;
    }

    const needs = authenticationNeeded(levels, policy, target(details));
    const method = ctx.method;
    if (action === '' && method === 'GET') {
      if (s.username) renderSecondStep(ctx, uid, s, needs);
      else html(ctx, signInPage({ idpName, action: `/interaction/${uid}/login`, csrf: s.csrf }));
      return;
    }
    if (method !== 'POST') {
      ctx.status = 405;
      return;
    }
    const body = form(ctx);
    if (!body.csrf || !sameSecret(body.csrf, s.csrf)) {
      html(ctx, messagePage(idpName, 'Sorry, there is a problem', 'The form has expired. Go back to the service you came from and start again.'), 403);
      return;
    }

    if (action === 'login') {
      const username = (body.username ?? '').trim().toLowerCase();
      const password = body.password ?? '';
      const errs: { username?: string; password?: string } = {};
      if (!username) errs.username = 'Enter your username';
      if (!password) errs.password = 'Enter your password';
      const identity = username ? byUsername.get(username) : undefined;
      if (!errs.username && !errs.password && (!identity || !verifyPassword(password, identity.password_hash))) {
        errs.password = 'The username or password is not right';
      }
      if (errs.username || errs.password || !identity) {
        html(ctx, signInPage({ idpName, action: `/interaction/${uid}/login`, csrf: s.csrf, username: body.username, errors: errs }), 400);
        return;
      }
      if (await failIfSwitched(ctx)) return;
      if (needs === 'Cl') {
        await finishLogin(ctx, uid, details, identity, 'Cl');
        return;
      }
      s.username = identity.username;
      s.otp = undefined;
      ctx.status = 303;
      ctx.redirect(`/interaction/${uid}`);
      return;
    }

    if (!s.username) {
      ctx.status = 303;
      ctx.redirect(`/interaction/${uid}`);
      return;
    }
    const identity = byUsername.get(s.username)!;

    if (action === 'code') {
      if (needs !== 'Cl.Cm' || !s.otp || s.otp.used) {
        renderSecondStep(ctx, uid, s, needs, { code: 'Request a new code' }, 400);
        return;
      }
      const code = (body.code ?? '').replace(/\s/g, '');
      if (!/^\d{6}$/.test(code) || !sameSecret(code, s.otp.code)) {
        s.otp.attempts += 1;
        const tooMany = s.otp.attempts >= 5;
        if (tooMany) s.otp.used = true; // a new code is made on the next page
        renderSecondStep(ctx, uid, s, needs, { code: tooMany ? 'Too many wrong codes. We have sent you a new code' : /^\d{6}$/.test(code) ? 'The security code is not right' : 'Enter the 6-digit security code' }, 400);
        return;
      }
      s.otp.used = true;
      await finishLogin(ctx, uid, details, identity, 'Cl.Cm');
      return;
    }

    if (action === 'passkey/options') {
      const creds = passkeys.get(identity.username) ?? [];
      const opts = await generateAuthenticationOptions({
        rpID,
        allowCredentials: creds.map((c) => ({ id: c.id, transports: c.transports })),
        userVerification: 'required',
      });
      s.challenge = opts.challenge;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = opts;
      return;
    }

    if (action === 'passkey') {
      const challenge = s.challenge;
      s.challenge = undefined; // single use
      let verified = false;
      let cred: WebAuthnCredential | undefined;
      try {
        const response = JSON.parse(body.response ?? '') as { id?: string };
        cred = (passkeys.get(identity.username) ?? []).find((c) => c.id === response.id);
        if (challenge && cred) {
          const result = await verifyAuthenticationResponse({
            response: response as never,
            expectedChallenge: challenge,
            expectedOrigin: origin,
            expectedRPID: rpID,
            credential: cred,
            requireUserVerification: true,
          });
          verified = result.verified;
          if (verified) cred.counter = result.authenticationInfo.newCounter;
        }
      } catch {
        verified = false;
      }
      if (!verified) {
        renderSecondStep(ctx, uid, s, needs, { passkey: 'Your passkey could not be used. Try again, or use another way' }, 400);
        return;
      }
      await finishLogin(ctx, uid, details, identity, 'Cl.Cm.Cp');
      return;
    }
    ctx.status = 404;
  };

  // ---- passkey registration (after password sign-in) ----
  const passkeySession = (ctx: Koa.Context): PasskeySession | undefined => {
    const token = ctx.cookies.get(PASSKEY_COOKIE);
    const s = token ? passkeySessions.get(token) : undefined;
    return s && s.exp > now().getTime() ? s : undefined;
  };

  const passkeyRoutes = async (ctx: Koa.Context) => {
    const path = ctx.path;
    if (path === '/passkeys' && ctx.method === 'GET') {
      const s = passkeySession(ctx);
      if (s) {
        html(ctx, registerPasskeyPage({ idpName, csrf: s.csrf, username: s.username, count: passkeys.get(s.username)?.length ?? 0 }));
        return;
      }
      const csrf = randomBytes(16).toString('base64url');
      ctx.cookies.set('idp_stub_csrf', csrf, { httpOnly: true, sameSite: 'lax', path: '/passkeys', signed: false, overwrite: true });
      html(ctx, signInPage({ idpName, action: '/passkeys/sign-in', csrf, heading: 'Sign in to set up a passkey' }));
      return;
    }
    if (ctx.method !== 'POST') {
      ctx.status = 405;
      return;
    }
    const body = form(ctx);
    if (path === '/passkeys/sign-in') {
      const cookieCsrf = ctx.cookies.get('idp_stub_csrf') ?? '';
      if (!body.csrf || !cookieCsrf || !sameSecret(body.csrf, cookieCsrf)) {
        html(ctx, messagePage(idpName, 'Sorry, there is a problem', 'The form has expired. Reload the page and try again.'), 403);
        return;
      }
      const username = (body.username ?? '').trim().toLowerCase();
      const identity = byUsername.get(username);
      if (!identity || !verifyPassword(body.password ?? '', identity.password_hash)) {
        html(
          ctx,
          signInPage({
            idpName,
            action: '/passkeys/sign-in',
            csrf: cookieCsrf,
            username: body.username,
            heading: 'Sign in to set up a passkey',
            errors: username ? { password: 'The username or password is not right' } : { username: 'Enter your username' },
          }),
          400,
        );
        return;
      }
      const token = randomBytes(24).toString('base64url');
      passkeySessions.set(token, { username: identity.username, csrf: randomBytes(16).toString('base64url'), exp: now().getTime() + 15 * 60_000 });
      ctx.cookies.set(PASSKEY_COOKIE, token, { httpOnly: true, sameSite: 'lax', path: '/passkeys', overwrite: true });
      ctx.status = 303;
      ctx.redirect('/passkeys');
      return;
    }
    const s = passkeySession(ctx);
    if (!s || !body.csrf || !sameSecret(body.csrf, s.csrf)) {
      html(ctx, messagePage(idpName, 'Sign in again', 'Your passkey set-up session has ended. Go to /passkeys and sign in again.'), 403);
      return;
    }
    if (path === '/passkeys/register/options') {
      const existing = passkeys.get(s.username) ?? [];
      const opts = await generateRegistrationOptions({
        rpName: idpName,
        rpID,
        userName: s.username,
        attestationType: 'none',
        excludeCredentials: existing.map((c) => ({ id: c.id, transports: c.transports })),
        authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
        supportedAlgorithmIDs: [-7],
      });
      s.challenge = opts.challenge;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = opts;
      return;
    }
    if (path === '/passkeys/register') {
      const challenge = s.challenge;
      s.challenge = undefined;
      try {
        const response = JSON.parse(body.response ?? '') as { response?: { transports?: AuthenticatorTransportFuture[] } };
        if (!challenge) throw new Error('no challenge');
        const result = await verifyRegistrationResponse({
          response: response as never,
          expectedChallenge: challenge,
          expectedOrigin: origin,
          expectedRPID: rpID,
          requireUserVerification: true,
        });
        if (!result.verified || !result.registrationInfo) throw new Error('not verified');
        const { credential } = result.registrationInfo;
        const list = passkeys.get(s.username) ?? [];
        list.push({ ...credential, transports: credential.transports ?? response.response?.transports });
        passkeys.set(s.username, list);
      } catch {
        html(ctx, registerPasskeyPage({ idpName, csrf: s.csrf, username: s.username, count: passkeys.get(s.username)?.length ?? 0, error: 'The passkey could not be set up. Try again' }), 400);
        return;
      }
      html(ctx, messagePage(idpName, 'Passkey set up', `You can now use your passkey to sign in. You have ${passkeys.get(s.username)!.length} passkey(s).`));
      return;
    }
    ctx.status = 404;
  };

  // ---- middleware: recording, switches, admin, health, static, CSP ----
  const formActions = [...new Set(["'self'", ...options.broker.redirectUris.map((u) => new URL(u).origin)])].join(' ');
  const csp = `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action ${formActions}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'`;

  provider.use(async (ctx, next) => {
    let body = '';
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of ctx.req) {
        size += (chunk as Buffer).length;
        if (size > 256 * 1024) {
          ctx.status = 413;
          return;
        }
        chunks.push(chunk as Buffer);
      }
      body = Buffer.concat(chunks).toString('utf8');
      (ctx.req as { body?: string }).body = body;
    }
    requests.push({ method: ctx.method, url: ctx.originalUrl, headers: { ...ctx.headers }, body });
    prune();

    if (ctx.path === '/admin/switches') {
      if (!options.adminToken) {
        ctx.status = 404;
        return;
      }
      const auth = ctx.get('authorization');
      if (!auth.startsWith('Bearer ') || !sameSecret(auth.slice(7), options.adminToken)) {
        ctx.status = 401;
        ctx.set('WWW-Authenticate', 'Bearer');
        ctx.body = { error: 'unauthorized' };
        return;
      }
      if (ctx.method === 'POST') {
        try {
          switches = parseSwitches(JSON.parse(body || '{}') as Record<string, unknown>, switches);
        } catch (error) {
          ctx.status = 400;
          ctx.body = { error: 'invalid_request', error_description: (error as Error).message };
          return;
        }
      } else if (ctx.method !== 'GET') {
        ctx.status = 405;
        return;
      }
      ctx.body = { ...switches };
      return;
    }

    if (switches.delayMs > 0) await new Promise((r) => setTimeout(r, switches.delayMs));
    if (switches.fail === 'down') {
      ctx.status = 503;
      ctx.set('Retry-After', '30');
      ctx.body = { error: 'temporarily_unavailable' };
      return;
    }
    ctx.set('Content-Security-Policy', csp);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');

    if (ctx.path === '/healthz') {
      ctx.body = { status: 'ok' };
      return;
    }
    if (ctx.path === '/token' && switches.fail === 'error') {
      ctx.status = 500;
      ctx.body = { error: 'server_error', error_description: 'The identity provider had a problem' };
      return;
    }
    const file = staticFiles[ctx.path];
    if (file && ctx.method === 'GET') {
      ctx.type = file.type;
      ctx.set('Cache-Control', 'public, max-age=300');
      ctx.body = readFileSync(file.file);
      return;
    }
    if (ctx.path === '/trustmark') {
      ctx.body = { idp: policy.id, certified: policy.certified, certification_expires: policy.certification_expires, trust_framework: 'uk_diatf' };
      return;
    }
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|code|passkey|passkey\/options))?$/.exec(ctx.path);
    if (m) {
      await interactionRoutes(ctx, m[1]!, m[2] ?? '');
      return;
    }
    if (ctx.path === '/passkeys' || ctx.path.startsWith('/passkeys/')) {
      await passkeyRoutes(ctx);
      return;
    }
    await next();
  });

  const server: Server = createServer(provider.callback());
  const port = options.port ?? Number(issuerUrl.port || (issuerUrl.protocol === 'https:' ? 443 : 80));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const actualPort = address && typeof address === 'object' ? address.port : port;

  return {
    url: issuer,
    issuer,
    port: actualPort,
    get switches() {
      return { ...switches };
    },
    set switches(value: Switches) {
      switches = parseSwitches(value, switches);
    },
    requests,
    passkeys,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
