/**
 * The service's matching endpoint. The broker POSTs a signed request after the citizen
 * consented; this handler verifies it (broker JWKS from discovery, rotation-aware, replays
 * refused), asks your `match` function, and answers with a JWT signed by your key.
 *
 *   const matching = createMatchingHandler({
 *     brokerIssuer: 'https://broker.example', clientId: 'my-service', privateKey,
 *     match: async (who) => { const acct = findAccount(who); return acct ? { result: 'match', accountRef: acct.id } : { result: 'no-match' }; },
 *   });
 *   app.post('/matching', matching.node);          // Express or node:http
 *   router.post('/matching', matching.koa);        // Koa
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { createRemoteJWKSet, importJWK, jwtVerify, SignJWT, type JWK, type JWTVerifyGetKey, type CryptoKey } from 'jose';
import {
  checkMatchRequestClaims,
  MATCH_ALG,
  MATCH_CONTENT_TYPE,
  MATCH_REQUEST_TYP,
  MATCH_RESPONSE_TYP,
  type ExtraAttribute,
  type MatchRequestClaims,
  type VerifiedClaims,
} from './protocol.js';
import { flattenClaims, type VerifiedAttributes } from './attributes.js';

/** The person the broker asks about. */
export interface MatchingIdentity {
  /** The pairwise subject: stable for this person, this IdP and your sector. */
  subject: string;
  /** The level of assurance reached, e.g. "Cl.Cm.P2". */
  level: string;
  /** The journey reference (quote it to support). */
  journeyReference: string;
  /** The verified attributes, flattened. */
  attributes: VerifiedAttributes;
  verifiedClaims: VerifiedClaims;
  /** Extra details the citizen gave for this attempt (e.g. ni_number, upper case, no spaces). */
  extra: Partial<Record<ExtraAttribute, string>>;
  /** 1 for the first attempt. */
  attempt: number;
}

export type MatchDecision = { result: 'match'; accountRef: string } | { result: 'no-match' } | { result: 'need-attribute'; attribute: ExtraAttribute };

/** Remembers request ids until they expire, to refuse replays. */
export interface ReplayCache {
  /** True when `jti` was seen before (then refuse); otherwise remember it until `expiresAt` (epoch seconds). */
  seen(jti: string, expiresAt: number): Promise<boolean>;
}

export interface MatchingHandlerOptions {
  /** The broker's issuer (its discovery document gives the JWKS). */
  brokerIssuer: string;
  /** Your client_id at the broker (the request's audience, the answer's issuer). */
  clientId: string;
  /** Your private ES256 JWK, with `kid`; its public half is in your policy's JWKS. */
  privateKey: JWK;
  /** Find the person in your records. */
  match(identity: MatchingIdentity): Promise<MatchDecision>;
  /** Create an account (only called when the broker asks, which it does only if your policy allows). Default: none, answered as no-match. */
  createAccount?(identity: MatchingIdentity): Promise<{ accountRef: string }>;
  /** The broker's keys. Default: from its discovery `jwks_uri`, cached, refetched on an unknown `kid`. */
  brokerKeys?: JWTVerifyGetKey;
  /** Replay cache. Default: in memory (one process). Use a shared one when you run several instances. */
  replayCache?: ReplayCache;
  /** Clock tolerance in seconds. Default 30. */
  clockToleranceSeconds?: number;
  /** The clock (epoch ms). Default Date.now. */
  now?: () => number;
}

export class MatchingRequestError extends Error {
  override readonly name = 'MatchingRequestError';
  constructor(
    readonly status: 400 | 401 | 415 | 500,
    readonly code: 'invalid_request' | 'invalid_token' | 'server_error',
    message: string,
  ) {
    super(message);
  }
}

/** An in-memory replay cache with expiry. */
export function memoryReplayCache(now: () => number = Date.now): ReplayCache {
  const seen = new Map<string, number>();
  return {
    async seen(jti, expiresAt) {
      const t = now() / 1000;
      if (seen.size > 10_000) for (const [k, exp] of seen) if (exp < t) seen.delete(k);
      const known = seen.get(jti);
      if (known !== undefined && known >= t) return true;
      seen.set(jti, expiresAt);
      return false;
    },
  };
}

export interface MatchingHandler {
  /** Verify, match and sign: the answer JWT, or a MatchingRequestError. */
  answer(requestJwt: string): Promise<string>;
  /** A Node handler (Express, node:http). */
  node(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** A Koa middleware. */
  koa(ctx: { req: IncomingMessage; status: number; body: unknown; type: string }): Promise<void>;
}

export function createMatchingHandler(options: MatchingHandlerOptions): MatchingHandler {
  const now = options.now ?? Date.now;
  const replay = options.replayCache ?? memoryReplayCache(now);
  const issuer = options.brokerIssuer.replace(/\/$/, '');
  let keys = options.brokerKeys;
  let keysPromise: Promise<JWTVerifyGetKey> | undefined;
  let signingKey: Promise<CryptoKey | Uint8Array> | undefined;
  if (!options.privateKey.kid) throw new TypeError('privateKey needs a kid (the broker picks the verification key by it)');

  const brokerKeys = (): Promise<JWTVerifyGetKey> => {
    if (keys) return Promise.resolve(keys);
    keysPromise ??= (async () => {
      const response = await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5_000) });
      if (!response.ok) throw new Error(`broker discovery answered ${response.status}`);
      const meta = (await response.json()) as { jwks_uri?: string; issuer?: string };
      if (meta.issuer !== issuer || !meta.jwks_uri) throw new Error('broker discovery does not match the issuer');
      keys = createRemoteJWKSet(new URL(meta.jwks_uri), { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
      return keys;
    })().catch((e) => {
      keysPromise = undefined;
      throw e;
    });
    return keysPromise;
  };

  async function answer(requestJwt: string): Promise<string> {
    if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(requestJwt)) throw new MatchingRequestError(400, 'invalid_request', 'the body is not a compact JWS');
    let claims: MatchRequestClaims;
    try {
      const verified = await jwtVerify(requestJwt, await brokerKeys(), {
        algorithms: [MATCH_ALG],
        typ: MATCH_REQUEST_TYP,
        issuer,
        audience: options.clientId,
        requiredClaims: ['iat', 'exp', 'jti'],
        maxTokenAge: '5m',
        clockTolerance: options.clockToleranceSeconds ?? 30,
        currentDate: new Date(now()),
      });
      claims = verified.payload as unknown as MatchRequestClaims;
    } catch (e) {
      throw new MatchingRequestError(401, 'invalid_token', `request not verified: ${(e as Error).message}`);
    }
    const problem = checkMatchRequestClaims(claims as unknown as Record<string, unknown>);
    if (problem) throw new MatchingRequestError(400, 'invalid_request', problem);
    if (await replay.seen(claims.jti, claims.exp)) throw new MatchingRequestError(401, 'invalid_token', 'request replayed (jti seen before)');

    const identity: MatchingIdentity = {
      subject: claims.sub,
      level: claims.vot,
      journeyReference: claims.txn,
      attributes: flattenClaims(claims.verified_claims.claims),
      verifiedClaims: claims.verified_claims,
      extra: { ...claims.extra_attributes },
      attempt: claims.attempt,
    };
    let body: Record<string, unknown>;
    if (claims.mode === 'create') {
      body = options.createAccount ? { result: 'created', account_ref: (await options.createAccount(identity)).accountRef } : { result: 'no-match' };
    } else {
      const decision = await options.match(identity);
      body =
        decision.result === 'match'
          ? { result: 'match', account_ref: decision.accountRef }
          : decision.result === 'need-attribute'
            ? { result: 'need-attribute', attribute: decision.attribute }
            : { result: 'no-match' };
    }
    signingKey ??= importJWK(options.privateKey, MATCH_ALG);
    const iat = Math.floor(now() / 1000);
    return new SignJWT({ ...body, txn: claims.txn, in_response_to: claims.jti })
      .setProtectedHeader({ alg: MATCH_ALG, typ: MATCH_RESPONSE_TYP, kid: options.privateKey.kid! })
      .setIssuer(options.clientId)
      .setAudience(issuer)
      .setIssuedAt(iat)
      .setExpirationTime(iat + 60)
      .setJti(randomUUID())
      .sign(await signingKey);
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== MATCH_CONTENT_TYPE) throw new MatchingRequestError(415, 'invalid_request', `content type must be ${MATCH_CONTENT_TYPE}`);
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > 64 * 1024) throw new MatchingRequestError(400, 'invalid_request', 'request too large');
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8').trim();
  }

  async function handle(req: IncomingMessage): Promise<{ status: number; type: string; body: string }> {
    try {
      if (req.method !== 'POST') throw new MatchingRequestError(400, 'invalid_request', 'use POST');
      return { status: 200, type: MATCH_CONTENT_TYPE, body: await answer(await readBody(req)) };
    } catch (e) {
      const err = e instanceof MatchingRequestError ? e : new MatchingRequestError(500, 'server_error', 'the matching function failed');
      return { status: err.status, type: 'application/json', body: JSON.stringify({ error: err.code, error_description: err.message }) };
    }
  }

  return {
    answer,
    async node(req, res) {
      const out = await handle(req);
      res.writeHead(out.status, { 'content-type': out.type, 'cache-control': 'no-store' });
      res.end(out.body);
    },
    async koa(ctx) {
      const out = await handle(ctx.req);
      ctx.status = out.status;
      ctx.type = out.type;
      ctx.body = out.body;
    },
  };
}
