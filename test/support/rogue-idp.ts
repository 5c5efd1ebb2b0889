/**
 * A tiny, controllable OpenID Provider for tests of the broker as an OpenID client.
 *
 * It speaks just enough OpenID Connect over real HTTP: discovery, JWKS, an authorization
 * endpoint that records the request and redirects straight back with a code (and RFC 9207
 * `iss`), and a token endpoint that really checks the `private_key_jwt` client assertion
 * (with jose, against the broker's public keys) and the PKCE verifier, and refuses a code
 * used twice. The ID token is built by a function the test may replace, so a test can serve
 * a token signed with the wrong key, `alg: none`, HS256, a wrong `aud`/`iss`/`nonce`, an
 * expired one, a lower `vot`, contra-indicators, and so on. `setMode` makes the whole server
 * fail (500), answer slowly, or drop connections, for health checks.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { freePort } from './ports.js';

/** How the whole server behaves: normally, 500 to everything, slowly, or dropping connections. */
export type RogueMode = 'ok' | 'error' | 'slow' | 'down';

/** The identity the IdP "verified" (by default Margaret, reaching Cl.Cm.P2). */
export interface RogueIdentity {
  sub: string;
  vot: string;
  claims: Record<string, unknown>;
  ci?: string[];
  /**
   * The OIDC4IDA evidence items (with GPG 45 score fields) in verified_claims. Default: a set
   * meeting the vot's confidence (P1: L1A, P2: M1A, P3: H1A); null: no evidence.
   */
  evidence?: Record<string, unknown>[] | null;
  /** RFC 8176 amr. Default: from the vot (Cl: pwd; Cl.Cm: pwd otp; Cl.Cm.Cp: pwd hwk user); null: none. */
  amr?: string[] | null;
}

/** Evidence with GPG 45 scores meeting a profile of the vector's confidence (none for P0). */
export function evidenceForVot(vot: string): Record<string, unknown>[] {
  const passport = { type: 'document', document_details: { type: 'passport' } };
  const confidence = /\.(P\d)$/.exec(vot)?.[1] ?? 'P0';
  if (confidence === 'P1') return [{ ...passport, strengthScore: 2, validityScore: 2, activityHistoryScore: 0, identityFraudScore: 1, verificationScore: 1 }];
  if (confidence === 'P2') return [{ ...passport, strengthScore: 4, validityScore: 2, activityHistoryScore: 0, identityFraudScore: 1, verificationScore: 2 }];
  if (confidence === 'P3') return [{ ...passport, strengthScore: 4, validityScore: 3, activityHistoryScore: 0, identityFraudScore: 1, verificationScore: 3 }];
  return [passport];
}

/** The amr that meets the vector's authentication. */
export function amrForVot(vot: string): string[] {
  if (vot.startsWith('Cl.Cm.Cp')) return ['pwd', 'hwk', 'user'];
  if (vot.startsWith('Cl.Cm')) return ['pwd', 'otp'];
  return ['pwd'];
}

/** What the ID token builder knows about the exchange. */
export interface IdTokenContext {
  issuer: string;
  clientId: string;
  /** The parameters of the authorization request this code came from. */
  authorization: URLSearchParams;
  nonce: string | undefined;
  /** The attribute names asked for in the `claims` parameter. */
  requestedClaims: string[];
  /** Seconds since the epoch. */
  now: number;
  /** The claims of a good ID token for this exchange. */
  claims: Record<string, unknown>;
  /** Sign claims with the IdP's key (or another key, alg, kid). */
  sign(claims: JWTPayload, options?: { key?: CryptoKey; alg?: string; kid?: string }): Promise<string>;
  /** An unsecured JWT (`alg: none`). */
  unsecured(claims: Record<string, unknown>): string;
}

export type IdTokenBuilder = (ctx: IdTokenContext) => Promise<string> | string;

export interface RogueIdpOptions {
  /** The broker's public client keys (private_key_jwt is verified against them). */
  clientJwks: { keys: JWK[] };
  /** The broker's client_id at this IdP. Default 'identity-broker'. */
  clientId?: string;
  /** Registered redirect URIs; when given, any other is refused at the authorization endpoint. */
  redirectUris?: string[];
  port?: number;
  identity?: Partial<RogueIdentity>;
  /** Advertise and send RFC 9207 `iss` in authorization responses. Default true. */
  sendIss?: boolean;
  /** Delay of every answer in 'slow' mode. Default 5000 ms. */
  slowMs?: number;
}

export interface RecordedRequest {
  endpoint: 'discovery' | 'jwks' | 'authorization' | 'token' | 'healthz' | 'other';
  method: string;
  url: URL;
  /** Query (GET) or form body (POST) parameters. */
  params: URLSearchParams;
  headers: IncomingMessage['headers'];
}

export interface RogueIdp {
  issuer: string;
  /** The issuer as a URL. */
  url: URL;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  setMode(mode: RogueMode): void;
  /** Replace the ID token builder (undefined: back to the default good token). */
  setIdToken(builder: IdTokenBuilder | undefined): void;
  /** Change the parameters of the redirect back (e.g. an error, another `iss`, another `state`). */
  setAuthorizationResponse(change: ((params: URLSearchParams, request: URLSearchParams) => URLSearchParams) | undefined): void;
  /** The identity returned from now on. */
  setIdentity(identity: Partial<RogueIdentity>): void;
  /** The IdP's signing key pair and its public JWK (with kid). */
  keys: { privateKey: CryptoKey; publicKey: CryptoKey; publicJwk: JWK; kid: string };
  /** Follow the broker's authorization URL like a browser would, returning the callback URL. */
  authorize(url: URL): Promise<URL>;
  close(): Promise<void>;
}

const DEFAULT_IDENTITY: RogueIdentity = {
  sub: 'rogue-subject-1',
  vot: 'Cl.Cm.P2',
  claims: {
    given_name: 'Margaret',
    family_name: 'Okafor',
    birthdate: '1958-03-14',
    address: { street_address: '12 Station Road', locality: 'Exampleton', postal_code: 'EX1 2AB', country: 'GB' },
  },
};

const b64url = (s: string) => Buffer.from(s).toString('base64url');

/** Start a rogue IdP on a free port (or `options.port`). Close it with `close()`. */
export async function startRogueIdp(options: RogueIdpOptions): Promise<RogueIdp> {
  const port = options.port ?? (await freePort());
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = options.clientId ?? 'identity-broker';
  const sendIss = options.sendIss ?? true;
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = `rogue-${randomBytes(4).toString('hex')}`;
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const clientKeys = createLocalJWKSet(options.clientJwks as { keys: JWK[] });

  let mode: RogueMode = 'ok';
  let identity: RogueIdentity = { ...DEFAULT_IDENTITY, ...options.identity };
  let idTokenBuilder: IdTokenBuilder | undefined;
  let responseChange: ((p: URLSearchParams, r: URLSearchParams) => URLSearchParams) | undefined;
  const requests: RecordedRequest[] = [];
  const codes = new Map<string, { params: URLSearchParams; used: boolean }>();
  const usedAssertions = new Set<string>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const metadata = {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['ES256', 'RS256', 'PS256'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['ES256'],
    code_challenge_methods_supported: ['S256'],
    claims_parameter_supported: true,
    claims_supported: ['sub', 'vot', 'vtm', 'acr', 'verified_claims', 'ci'],
    vtr_supported: ['Cl.P1', 'Cl.Cm.P2', 'Cl.Cm.Cp.P3'],
    authorization_response_iss_parameter_supported: sendIss,
  };

  const sign: IdTokenContext['sign'] = (claims, o = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: o.alg ?? 'ES256', kid: o.kid ?? kid, typ: 'JWT' })
      .sign(o.key ?? privateKey);
  const unsecured = (claims: Record<string, unknown>) => `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}.`;

  function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify(body));
  }

  async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  }

  function requestedClaims(params: URLSearchParams): string[] {
    try {
      const claims = JSON.parse(params.get('claims') ?? '{}') as { id_token?: { verified_claims?: { claims?: Record<string, unknown> } } };
      return Object.keys(claims.id_token?.verified_claims?.claims ?? {});
    } catch {
      return [];
    }
  }

  async function token(req: IncomingMessage, res: ServerResponse, form: URLSearchParams) {
    const fail = (error: string, description: string, status = 400) => json(res, status, { error, error_description: description });
    if (form.get('grant_type') !== 'authorization_code') return fail('unsupported_grant_type', 'only authorization_code');
    if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return fail('invalid_client', 'private_key_jwt required', 401);
    try {
      const { payload } = await jwtVerify(form.get('client_assertion') ?? '', clientKeys, {
        issuer: clientId,
        subject: clientId,
        audience: [issuer, metadata.token_endpoint],
        algorithms: ['ES256'],
      });
      if (!payload.jti || usedAssertions.has(payload.jti)) return fail('invalid_client', 'client assertion replayed', 401);
      usedAssertions.add(payload.jti);
    } catch (e) {
      return fail('invalid_client', `client assertion: ${(e as Error).message}`, 401);
    }
    const code = codes.get(form.get('code') ?? '');
    if (!code) return fail('invalid_grant', 'unknown code');
    if (code.used) return fail('invalid_grant', 'code already used');
    code.used = true;
    if (form.get('redirect_uri') !== code.params.get('redirect_uri')) return fail('invalid_grant', 'redirect_uri does not match');
    const verifier = form.get('code_verifier') ?? '';
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    if (code.params.get('code_challenge_method') !== 'S256' || challenge !== code.params.get('code_challenge')) {
      return fail('invalid_grant', 'PKCE verifier does not match');
    }
    const now = Math.floor(Date.now() / 1000);
    const asked = requestedClaims(code.params);
    const claims: Record<string, unknown> = {
      iss: issuer,
      sub: identity.sub,
      aud: clientId,
      iat: now,
      exp: now + 300,
      auth_time: now,
      ...(code.params.get('nonce') ? { nonce: code.params.get('nonce') } : {}),
      acr: identity.vot,
      vot: identity.vot,
      ...(identity.amr === null ? {} : { amr: identity.amr ?? amrForVot(identity.vot) }),
      vtm: `${issuer}/trustmark`,
      verified_claims: {
        verification: {
          trust_framework: 'uk_diatf',
          assurance_level: 'medium',
          ...(identity.evidence === null ? {} : { evidence: identity.evidence ?? evidenceForVot(identity.vot) }),
        },
        claims: Object.fromEntries(Object.entries(identity.claims).filter(([k]) => asked.includes(k))),
      },
      ...(identity.ci ? { ci: identity.ci } : {}),
    };
    const ctx: IdTokenContext = {
      issuer,
      clientId,
      authorization: code.params,
      nonce: code.params.get('nonce') ?? undefined,
      requestedClaims: asked,
      now,
      claims,
      sign,
      unsecured,
    };
    const idToken = idTokenBuilder ? await idTokenBuilder(ctx) : await sign(claims as JWTPayload);
    json(res, 200, { access_token: randomBytes(16).toString('base64url'), token_type: 'Bearer', expires_in: 300, id_token: idToken });
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', issuer);
    const endpoint: RecordedRequest['endpoint'] =
      url.pathname === '/.well-known/openid-configuration' ? 'discovery'
      : url.pathname === '/jwks' ? 'jwks'
      : url.pathname === '/authorize' ? 'authorization'
      : url.pathname === '/token' ? 'token'
      : url.pathname === '/healthz' ? 'healthz'
      : 'other';
    const params = req.method === 'POST' ? await readForm(req) : new URLSearchParams(url.search);
    requests.push({ endpoint, method: req.method ?? 'GET', url, params, headers: req.headers });
    if (mode === 'error') return json(res, 500, { error: 'server_error' });
    switch (endpoint) {
      case 'discovery':
        return json(res, 200, metadata);
      case 'jwks':
        return json(res, 200, { keys: [publicJwk] });
      case 'healthz':
        return json(res, 200, { status: 'ok' });
      case 'authorization': {
        const redirectUri = params.get('redirect_uri') ?? '';
        if (params.get('client_id') !== clientId || (options.redirectUris && !options.redirectUris.includes(redirectUri))) {
          return json(res, 400, { error: 'invalid_request', error_description: 'unknown client or redirect_uri' });
        }
        const code = randomBytes(16).toString('base64url');
        codes.set(code, { params, used: false });
        let back = new URLSearchParams({ code });
        if (params.get('state')) back.set('state', params.get('state')!);
        if (sendIss) back.set('iss', issuer);
        if (responseChange) back = responseChange(back, params);
        res.writeHead(303, { location: `${redirectUri}?${back.toString()}` });
        return res.end();
      }
      case 'token':
        if (req.method !== 'POST') return json(res, 405, { error: 'invalid_request' });
        return token(req, res, params);
      default:
        return json(res, 404, { error: 'not_found' });
    }
  }

  const server = createServer((req, res) => {
    if (mode === 'down') {
      req.socket.destroy();
      return;
    }
    const run = () =>
      handle(req, res).catch((e) => {
        if (!res.headersSent) json(res, 500, { error: 'server_error', error_description: String(e) });
      });
    if (mode === 'slow') {
      const t = setTimeout(() => {
        timers.delete(t);
        void run();
      }, options.slowMs ?? 5_000);
      timers.add(t);
    } else void run();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });

  return {
    issuer,
    url: new URL(issuer),
    requests,
    keys: { privateKey, publicKey, publicJwk, kid },
    setMode: (m) => void (mode = m),
    setIdToken: (b) => void (idTokenBuilder = b),
    setAuthorizationResponse: (c) => void (responseChange = c),
    setIdentity: (i) => void (identity = { ...identity, ...i }),
    async authorize(authUrl) {
      const res = await fetch(authUrl, { redirect: 'manual' });
      const location = res.headers.get('location');
      await res.body?.cancel();
      if (res.status !== 303 || !location) throw new Error(`the rogue IdP did not redirect back (HTTP ${res.status})`);
      return new URL(location);
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
