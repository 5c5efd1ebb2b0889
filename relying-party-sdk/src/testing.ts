/**
 * `@idbroker/relying-party-sdk/testing`: a small fake OpenID Provider standing in for the broker
 * in a service's tests (and the SDK's own): discovery, JWKS (keys can be rotated), PAR, a token
 * endpoint checking PKCE and `private_key_jwt` and issuing ES256 ID tokens crafted with jose,
 * signed matching requests, and an authorization step the test simulates (no browser). Real
 * HTTP on a free port of 127.0.0.1. For tests only: never a real broker.
 *
 * ```ts
 * import { newKey, startFakeOp } from '@idbroker/relying-party-sdk/testing';
 * const op = await startFakeOp();
 * const key = await newKey();
 * op.clientKeys = [key.publicJwk];
 * const client = await createBrokerClient({ issuer: op.issuer, clientId: 'my-service', redirectUri, privateKey: key.privateJwk, allowInsecureRequests: true });
 * const { url, transaction } = await client.startLogin({ vtr: 'Cl.Cm.P2', attributes: ['given_name'] });
 * const who = await client.handleCallback(op.authorize(url), transaction);
 * await op.close();
 * ```
 * @packageDocumentation
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, jwtVerify, createLocalJWKSet, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import type { AddressInfo } from 'node:net';
import {
  checkMatchResponseClaims,
  MATCH_CONTENT_TYPE,
  MATCH_REQUEST_TYP,
  MATCH_RESPONSE_TYP,
  type ErrorReason,
  type MatchResponseClaims,
} from './protocol.js';

/** An ES256 key pair with its JWKs and `kid` (the JWK thumbprint). */
export interface SigningKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
  privateJwk: JWK;
  kid: string;
}

/** A fresh ES256 key: for the fake broker's signing, or your service's `privateKey` (put `publicJwk` in `op.clientKeys`). */
export async function newKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return { privateKey, publicJwk: { ...publicJwk, kid, alg: 'ES256', use: 'sig' }, privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'ES256' }, kid };
}

interface PendingCode {
  params: URLSearchParams;
  used: boolean;
  /** The ID token's `match` claim: the default demo account, a result from {@link FakeOp.journey}, or none. */
  match?: { result: 'matched' | 'created'; account_ref: string } | null;
}

/** The `error` the broker sends with each reason: `temporarily_unavailable` when a party failed, `access_denied` otherwise. */
export function brokerErrorFor(reason: ErrorReason): 'access_denied' | 'temporarily_unavailable' {
  return reason === 'provider_failed' || reason === 'matching_failed' ? 'temporarily_unavailable' : 'access_denied';
}

/** Options of {@link FakeOp.fail}. */
export interface FailOptions {
  /** The support case reference (`case_ref`). Default: none (pass one for reasons where the broker opened a case). */
  caseReference?: string;
  /** The journey reference (`txn`). Default "JRN-TEST-0001". */
  journeyReference?: string;
}

/** Options of {@link FakeOp.journey}. */
export interface FakeJourneyOptions {
  /** Your matching endpoint (its full URL). Required. */
  matchingUrl: string;
  /**
   * Your policy's `matching.extra_attribute` (e.g. `ni_number`): after a first `no-match` the
   * broker asks the citizen for it and calls your endpoint again (attempt 2). Default: none.
   */
  extraAttribute?: string;
  /** What the citizen types when asked for one more attribute (after `no-match` with `extraAttribute`, or your `need-attribute`), e.g. `{ ni_number: 'QQ123456C' }`. Default: nothing (the journey ends in no_match). */
  extraAttributes?: Record<string, string>;
  /** The verified claims sent to matching (and released in the ID token). Default: Margaret Okafor's. */
  claims?: Record<string, unknown>;
  /** `create` when your policy allows account creation and the citizen asked for it. Default `match`. */
  mode?: 'match' | 'create';
}

/** What your matching endpoint answered, verified as the broker verifies it. */
export type VerifiedMatchResponse = MatchResponseClaims;

/** A running fake broker. */
export interface FakeOp {
  /** `http://127.0.0.1:<port>`: pass it as `issuer` with `allowInsecureRequests: true`. */
  issuer: string;
  /** Keys published at /jwks (replace to rotate). */
  published: SigningKey[];
  /** The key ID tokens and matching requests are signed with. */
  signing: SigningKey;
  /** Counts of requests per path. */
  hits: Record<string, number>;
  /** The client's public key (private_key_jwt) the token endpoint checks. */
  clientKeys: JWK[];
  /** Change the next ID token's claims (and header) before it is signed; reset after use. */
  nextIdToken?: (claims: JWTPayload) => JWTPayload;
  /** Replace the next ID token string after signing (e.g. tamper); reset after use. */
  nextIdTokenString?: (jwt: string) => string;
  /** The params the last authorization request carried (after PAR resolution). */
  lastAuthorization?: URLSearchParams;
  /** Simulate the citizen's trip through the broker: returns the callback URL (code, state, iss). */
  authorize(url: URL | string, extra?: Record<string, string>): URL;
  /** Simulate a failed journey: the broker's error redirect, with the parameters you give. */
  errorRedirect(url: URL | string, params: Record<string, string>): URL;
  /**
   * A failed journey for one of the broker's reasons, exactly as the broker redirects: `error`
   * (`access_denied`, or `temporarily_unavailable` for `provider_failed` and `matching_failed`),
   * `error_reason`, `txn`, `case_ref` when given, `state` and `iss`.
   */
  fail(url: URL | string, reason: ErrorReason, options?: FailOptions): URL;
  /**
   * Call your matching endpoint as the broker does: a signed request (ES256, `match-request+jwt`,
   * aud your client id, a fresh jti), then your answer checked as the broker checks it (signature
   * against `clientKeys`, typ, iss = your client id, aud = the issuer, in_response_to = the
   * request's jti, txn, exp, a known result). Resolves to the answer; rejects with the reason the
   * broker would refuse it for.
   */
  callMatching(matchingUrl: string, clientId: string, claims?: Record<string, unknown>): Promise<VerifiedMatchResponse>;
  /**
   * A whole journey with your matching endpoint, as the broker runs it: `match`/`created` give the
   * callback with a code (the ID token carries the match), `need-attribute` (or `no-match` when
   * `extraAttribute` names your policy's extra detail) asks again with `extraAttributes`
   * (attempt 2) or ends in `no_match`, `no-match` gives the no_match error redirect
   * with a case reference, and an endpoint that fails or answers wrongly gives `matching_failed`.
   */
  journey(url: URL | string, options: FakeJourneyOptions): Promise<URL>;
  /** A matching request signed like the broker's (override claims or header). */
  matchRequest(aud: string, claims?: Record<string, unknown>, header?: Record<string, unknown>, key?: SigningKey): Promise<string>;
  close(): Promise<void>;
}

/** Start a fake broker on a free port of 127.0.0.1; `close()` it when done. */
export async function startFakeOp(): Promise<FakeOp> {
  // The issuer names the port, so listen first (port 0: the system picks a free one).
  const server: Server = createServer((req, res) => handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => (server.off('error', reject), resolve()));
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const signing = await newKey();
  const codes = new Map<string, PendingCode>();
  const pars = new Map<string, URLSearchParams>();

  const readForm = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  };
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };

  const op: FakeOp = {
    issuer,
    published: [signing],
    signing,
    hits: {},
    clientKeys: [],
    authorize(url, extra = {}) {
      let params = new URL(url).searchParams;
      const requestUri = params.get('request_uri');
      if (requestUri) {
        const pushed = pars.get(requestUri);
        if (!pushed) throw new Error('unknown request_uri');
        params = pushed;
      }
      op.lastAuthorization = params;
      const code = randomUUID();
      codes.set(code, { params, used: false });
      const back = new URL(params.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', params.get('state') ?? '');
      back.searchParams.set('iss', issuer);
      for (const [k, v] of Object.entries(extra)) back.searchParams.set(k, v);
      return back;
    },
    errorRedirect(url, params) {
      const asked = new URL(url).searchParams;
      const back = new URL(asked.get('redirect_uri')!);
      back.searchParams.set('state', asked.get('state') ?? '');
      back.searchParams.set('iss', issuer);
      for (const [k, v] of Object.entries(params)) back.searchParams.set(k, v);
      return back;
    },
    async matchRequest(aud, claims = {}, header = {}, key = op.signing) {
      const iat = Math.floor(Date.now() / 1000);
      const payload = {
        iss: issuer,
        aud,
        iat,
        exp: iat + 60,
        jti: randomUUID(),
        txn: 'JRN-TEST-0001',
        sub: 'pairwise-subject-1',
        vot: 'Cl.Cm.P2',
        verified_claims: {
          verification: { trust_framework: 'uk_diatf', assurance_level: 'Cl.Cm.P2' },
          claims: { given_name: 'Margaret', family_name: 'Okafor', birthdate: '1958-03-14', address: { street_address: '12 Station Road', locality: 'Exampleton', postal_code: 'EX1 2AB' } },
        },
        mode: 'match',
        attempt: 1,
        ...claims,
      };
      for (const [k, v] of Object.entries(payload)) if (v === undefined) delete (payload as Record<string, unknown>)[k];
      return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: MATCH_REQUEST_TYP, kid: key.kid, ...header }).sign(key.privateKey);
    },
    fail(url, reason, options = {}) {
      return op.errorRedirect(url, {
        error: brokerErrorFor(reason),
        error_reason: reason,
        txn: options.journeyReference ?? 'JRN-TEST-0001',
        ...(options.caseReference ? { case_ref: options.caseReference } : {}),
      });
    },
    async callMatching(matchingUrl, clientId, claims = {}) {
      const jti = randomUUID();
      const request = await op.matchRequest(clientId, { jti, ...claims });
      const response = await fetch(matchingUrl, { method: 'POST', headers: { 'content-type': MATCH_CONTENT_TYPE, accept: MATCH_CONTENT_TYPE }, body: request, signal: AbortSignal.timeout(5000) });
      if (response.status !== 200) throw new Error(`the matching endpoint answered ${response.status}`);
      const { payload } = await jwtVerify(await response.text(), createLocalJWKSet({ keys: op.clientKeys }), {
        issuer: clientId,
        audience: issuer,
        typ: MATCH_RESPONSE_TYP,
        algorithms: ['ES256'],
        maxTokenAge: 120,
      });
      const problem = checkMatchResponseClaims(payload as Record<string, unknown>);
      if (problem) throw new Error(`the matching answer is refused: ${problem}`);
      if (payload.in_response_to !== jti) throw new Error('the matching answer is refused: in_response_to is not the request\'s jti');
      return payload as unknown as VerifiedMatchResponse;
    },
    async journey(url, options) {
      const asked = new URL(url).searchParams;
      const clientId = asked.get('client_id') ?? '';
      const base = { mode: options.mode ?? 'match', ...(options.claims ? { verified_claims: { verification: { trust_framework: 'uk_diatf', assurance_level: 'Cl.Cm.P2' }, claims: options.claims } } : {}) };
      let answer: VerifiedMatchResponse;
      try {
        answer = await op.callMatching(options.matchingUrl, clientId, { ...base, attempt: 1 });
        const askFor = answer.result === 'need-attribute' ? answer.attribute : answer.result === 'no-match' ? options.extraAttribute : undefined;
        if (askFor) {
          const value = options.extraAttributes?.[askFor];
          if (value === undefined) return op.fail(url, 'no_match', { caseReference: 'K7QM-2XPD-9RTB-H' });
          answer = await op.callMatching(options.matchingUrl, clientId, { ...base, attempt: 2, extra_attributes: { [askFor]: value } });
          if (answer.result === 'need-attribute') throw new Error('need-attribute twice');
        }
      } catch {
        return op.fail(url, 'matching_failed', { caseReference: 'K7QM-2XPD-9RTB-H' });
      }
      if (answer.result === 'no-match') return op.fail(url, 'no_match', { caseReference: 'K7QM-2XPD-9RTB-H' });
      const back = op.authorize(url);
      codes.get(back.searchParams.get('code')!)!.match = { result: answer.result === 'created' ? 'created' : 'matched', account_ref: answer.account_ref! };
      return back;
    },
    close: () => new Promise<void>((r) => (server.close(() => r()), server.closeAllConnections())),
  };

  function handle(req: IncomingMessage, res: ServerResponse): void {
    void (async () => {
      const path = new URL(req.url ?? '/', issuer).pathname;
      op.hits[path] = (op.hits[path] ?? 0) + 1;
      if (path === '/.well-known/openid-configuration') {
        return json(res, 200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          pushed_authorization_request_endpoint: `${issuer}/par`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['pairwise'],
          id_token_signing_alg_values_supported: ['ES256'],
          token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic'],
          code_challenge_methods_supported: ['S256'],
          authorization_response_iss_parameter_supported: true,
          claims_parameter_supported: true,
        });
      }
      if (path === '/jwks') return json(res, 200, { keys: op.published.map((k) => k.publicJwk) });
      if (path === '/par' && req.method === 'POST') {
        const form = await readForm(req);
        const uri = `urn:ietf:params:oauth:request_uri:${randomUUID()}`;
        pars.set(uri, form);
        return json(res, 201, { request_uri: uri, expires_in: 60 });
      }
      if (path === '/token' && req.method === 'POST') {
        const form = await readForm(req);
        const pending = codes.get(form.get('code') ?? '');
        if (!pending || pending.used) return json(res, 400, { error: 'invalid_grant' });
        pending.used = true;
        const challenge = createHash('sha256').update(form.get('code_verifier') ?? '').digest('base64url');
        if (challenge !== pending.params.get('code_challenge')) return json(res, 400, { error: 'invalid_grant', error_description: 'PKCE' });
        const clientId = pending.params.get('client_id')!;
        if (form.get('client_assertion_type')) {
          try {
            await jwtVerify(form.get('client_assertion') ?? '', createLocalJWKSet({ keys: op.clientKeys }), { issuer: clientId, subject: clientId });
          } catch {
            return json(res, 401, { error: 'invalid_client' });
          }
        } else if (!req.headers.authorization?.startsWith('Basic ')) {
          return json(res, 401, { error: 'invalid_client' });
        }
        const iat = Math.floor(Date.now() / 1000);
        const vtr = JSON.parse(pending.params.get('vtr') ?? '["Cl.Cm.P2"]') as string[];
        const requested = Object.keys((JSON.parse(pending.params.get('claims') ?? '{}') as { id_token?: { verified_claims?: { claims?: object } } }).id_token?.verified_claims?.claims ?? {});
        const all: Record<string, unknown> = {
          given_name: 'Margaret',
          family_name: 'Okafor',
          birthdate: '1958-03-14',
          address: { street_address: '12 Station Road', locality: 'Exampleton', postal_code: 'EX1 2AB', country: 'GB' },
        };
        let claims: JWTPayload = {
          iss: issuer,
          aud: clientId,
          sub: 'pairwise-subject-1',
          iat,
          exp: iat + 300,
          nonce: pending.params.get('nonce') ?? undefined,
          vot: vtr[0],
          vtm: `${issuer}/trustmark`,
          txn: 'JRN-TEST-0001',
          verified_claims: { verification: { trust_framework: 'uk_diatf', assurance_level: vtr[0] }, claims: Object.fromEntries(requested.map((k) => [k, all[k]])) },
          ...(pending.match === null ? {} : { match: pending.match ?? { result: 'matched', account_ref: 'CT-100234' } }),
        };
        if (op.nextIdToken) claims = op.nextIdToken(claims);
        op.nextIdToken = undefined;
        let idToken = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: op.signing.kid, typ: 'JWT' }).sign(op.signing.privateKey);
        if (op.nextIdTokenString) idToken = op.nextIdTokenString(idToken);
        op.nextIdTokenString = undefined;
        return json(res, 200, { access_token: randomUUID(), token_type: 'Bearer', expires_in: 300, id_token: idToken });
      }
      json(res, 404, { error: 'not_found' });
    })().catch((e: unknown) => json(res, 500, { error: String(e) }));
  }
  return op;
}
