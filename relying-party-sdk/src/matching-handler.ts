/**
 * The service's matching endpoint. The broker POSTs a signed request after the citizen
 * consented; this handler verifies it (the broker's JWKS from discovery, rotation-aware,
 * replays refused), asks your `match` function, and answers with a JWT signed by your key.
 *
 * ```ts
 * const matching = createMatchingHandler({
 *   brokerIssuer: 'https://broker.example', clientId: 'my-service', privateKey,
 *   match: async (who) => {
 *     const account = await findAccount(who.attributes);
 *     return account ? { result: 'match', accountRef: account.id } : { result: 'no-match' };
 *   },
 * });
 * app.post('/matching', matching);          // Express or node:http: (req, res)
 * router.post('/matching', matching.koa);   // Koa
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { createRemoteJWKSet, importJWK, jwtVerify, SignJWT, type CryptoKey, type JWK, type JWTVerifyGetKey } from 'jose';
import {
  checkMatchRequestClaims,
  isExtraAttribute,
  MATCH_ALG,
  MATCH_CONTENT_TYPE,
  MATCH_REQUEST_TYP,
  MATCH_RESPONSE_TYP,
  MATCH_TOKEN_TTL_SECONDS,
  type ExtraAttribute,
  type MatchRequestClaims,
  type VerifiedClaims,
} from './protocol.js';
import { flattenClaims, type VerifiedAttributes } from './attributes.js';

/** The person the broker asks about: verified by an IdP, consented by the citizen. */
export interface MatchingIdentity {
  /** The pairwise subject: stable for this person and IdP at your sector, meaningless elsewhere. */
  subject: string;
  /** The level of assurance reached, e.g. "Cl.Cm.P2". */
  level: string;
  /** The journey reference (`txn`): log it, quote it to support. */
  journeyReference: string;
  /** The verified attributes, flattened (given_name, family_name, birthdate, address, ...). */
  attributes: VerifiedAttributes;
  /** The raw `verified_claims` of the request. */
  verifiedClaims: VerifiedClaims;
  /** Extra details the citizen typed for this attempt. `ni_number` is upper case without spaces. Empty on the first attempt. */
  extra: Partial<Record<ExtraAttribute, string>>;
  /** 1 for the first attempt, 2 after the citizen gave an extra detail. */
  attempt: number;
}

/** What your `match` function decides. */
export type MatchDecision =
  | { result: 'match'; accountRef: string }
  | { result: 'no-match' }
  | { result: 'need-attribute'; attribute: ExtraAttribute };

/** Remembers request ids (`jti`) until they expire, to refuse replays. Share one between instances (e.g. Redis `SET NX EX`). */
export interface ReplayCache {
  /** True when `jti` was seen before (the request is refused); otherwise remember it until `expiresAt` (epoch seconds) and return false. */
  seen(jti: string, expiresAt: number): Promise<boolean>;
}

/** Options of {@link createMatchingHandler}. */
export interface MatchingHandlerOptions {
  /** The broker's issuer, e.g. "https://broker.example". Its discovery document gives the JWKS (`jwks_uri`). Required. */
  brokerIssuer: string;
  /** Your client_id at the broker: the request's audience and your answer's issuer. Required. */
  clientId: string;
  /** Your private ES256 JWK, with `kid`; its public half is in your policy's JWKS. Required. */
  privateKey: JWK;
  /** Find the person in your records. Throwing answers 500 (the broker shows the citizen a support path). Required. */
  match(identity: MatchingIdentity): Promise<MatchDecision> | MatchDecision;
  /** Create an account; only called when the broker asks (`mode: "create"`, which it does only when your policy allows). Default: none, answered `no-match`. */
  createAccount?(identity: MatchingIdentity): Promise<{ accountRef: string }> | { accountRef: string };
  /** How long the broker's keys are cached, in seconds; an unknown `kid` refetches them sooner (at most every 30 s). Default 600. */
  jwksCacheSeconds?: number;
  /** The broker's keys, when you do not want discovery (e.g. `createLocalJWKSet`). Default: from discovery `jwks_uri`. */
  brokerKeys?: JWTVerifyGetKey;
  /** Where request ids are remembered. Default: {@link memoryReplayCache} (one process only). */
  replayCache?: ReplayCache;
  /** Clock tolerance for `iat`/`exp`, in seconds. Default 30. */
  clockToleranceSeconds?: number;
  /** The clock, epoch milliseconds. Default `Date.now`. */
  now?: () => number;
}

/** Why a matching request was refused. Answered as JSON `{ error, error_description }`, never as a signed answer. */
export class MatchingRequestError extends Error {
  override readonly name = 'MatchingRequestError';
  constructor(
    /** HTTP status: 400 bad request, 405 not POST, 415 wrong content type, 500 your match function failed, 503 broker keys unavailable. */
    readonly status: 400 | 405 | 415 | 500 | 503,
    /** Machine-readable reason. */
    readonly code: 'invalid_request' | 'invalid_token' | 'replayed_request' | 'server_error' | 'temporarily_unavailable',
    message: string,
  ) {
    super(message);
  }
}

/** Options of {@link memoryReplayCache}. */
export interface MemoryReplayCacheOptions {
  /** Most ids kept; beyond it the oldest are dropped (after the expired ones). Default 10000. */
  maxEntries?: number;
  /** The clock, epoch milliseconds. Default `Date.now`. */
  now?: () => number;
}

/** An in-memory replay cache: entries expire, and it never holds more than `maxEntries` (least recently added dropped first). */
export function memoryReplayCache(options: MemoryReplayCacheOptions = {}): ReplayCache {
  const now = options.now ?? Date.now;
  const max = options.maxEntries ?? 10_000;
  const seen = new Map<string, number>();
  return {
    async seen(jti, expiresAt) {
      const t = now() / 1000;
      const known = seen.get(jti);
      if (known !== undefined && known >= t) return true;
      seen.delete(jti);
      if (seen.size >= max) {
        for (const [k, exp] of seen) if (exp < t) seen.delete(k);
        for (const k of seen.keys()) {
          if (seen.size < max) break;
          seen.delete(k);
        }
      }
      seen.set(jti, expiresAt);
      return false;
    },
  };
}

/** Koa-like context the `.koa` middleware needs. */
export interface KoaMatchingContext {
  req: IncomingMessage;
  status: number;
  body: unknown;
  type: string;
  set(field: string, value: string): void;
  request?: { body?: unknown; rawBody?: unknown };
}

/**
 * The matching endpoint: call it as a Node `(req, res)` handler (Express, node:http), or use
 * `.koa` as Koa middleware, or `.answer(jwt)` to get the signed answer yourself.
 */
export interface MatchingHandler {
  (req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Verify, match and sign: resolves to the answer JWT, or rejects with a {@link MatchingRequestError}. */
  answer(requestJwt: string): Promise<string>;
  /** The Node handler (the same as calling the handler itself). */
  node(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Koa middleware for `POST /matching`. */
  koa(ctx: KoaMatchingContext): Promise<void>;
}

const MAX_BODY = 64 * 1024;

/** Create the matching endpoint the broker calls (see {@link MatchingHandlerOptions}). */
export function createMatchingHandler(options: MatchingHandlerOptions): MatchingHandler {
  if (!options.brokerIssuer) throw new TypeError('brokerIssuer is required');
  if (!options.clientId) throw new TypeError('clientId is required');
  if (!options.privateKey?.kid || !options.privateKey.d) throw new TypeError('privateKey must be a private ES256 JWK with a kid (the broker picks the verification key by it)');
  if (typeof options.match !== 'function') throw new TypeError('match is required');
  const now = options.now ?? Date.now;
  const replay = options.replayCache ?? memoryReplayCache({ now });
  const issuer = options.brokerIssuer.replace(/\/$/, '');
  const cacheMs = (options.jwksCacheSeconds ?? 600) * 1000;
  const tolerance = options.clockToleranceSeconds ?? 30;
  const signingKey: Promise<CryptoKey | Uint8Array> = importJWK(options.privateKey, MATCH_ALG);
  signingKey.catch(() => undefined);
  let keys = options.brokerKeys;
  let keysPromise: Promise<JWTVerifyGetKey> | undefined;

  const brokerKeys = (): Promise<JWTVerifyGetKey> => {
    if (keys) return Promise.resolve(keys);
    keysPromise ??= (async () => {
      const response = await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5_000), redirect: 'error' });
      if (!response.ok) throw new Error(`broker discovery answered ${response.status}`);
      const meta = (await response.json()) as { jwks_uri?: unknown; issuer?: unknown };
      if (meta.issuer !== issuer || typeof meta.jwks_uri !== 'string') throw new Error('broker discovery does not match the issuer');
      keys = createRemoteJWKSet(new URL(meta.jwks_uri), { cacheMaxAge: cacheMs, cooldownDuration: Math.min(30_000, cacheMs), timeoutDuration: 5_000 });
      return keys;
    })().catch((e: unknown) => {
      keysPromise = undefined;
      throw e;
    });
    return keysPromise;
  };

  async function answer(requestJwt: string): Promise<string> {
    if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(requestJwt)) throw new MatchingRequestError(400, 'invalid_request', 'the body is not a signed compact JWS');
    let getKey: JWTVerifyGetKey;
    try {
      getKey = await brokerKeys();
    } catch (e) {
      throw new MatchingRequestError(503, 'temporarily_unavailable', `the broker's keys are not available: ${(e as Error).message}`);
    }
    let claims: MatchRequestClaims;
    try {
      const verified = await jwtVerify(requestJwt, getKey, {
        algorithms: [MATCH_ALG],
        typ: MATCH_REQUEST_TYP,
        issuer,
        audience: options.clientId,
        requiredClaims: ['iat', 'exp', 'jti'],
        maxTokenAge: '5m',
        clockTolerance: tolerance,
        currentDate: new Date(now()),
      });
      claims = verified.payload as unknown as MatchRequestClaims;
    } catch (e) {
      throw new MatchingRequestError(400, 'invalid_token', `the request is not verified: ${(e as Error).message}`);
    }
    const problem = checkMatchRequestClaims(claims as unknown as Record<string, unknown>);
    if (problem) throw new MatchingRequestError(400, 'invalid_request', problem);
    if (await replay.seen(claims.jti, claims.exp + tolerance)) throw new MatchingRequestError(400, 'replayed_request', 'the request was replayed (its jti was seen before)');

    const extra: Partial<Record<ExtraAttribute, string>> = {};
    for (const [k, v] of Object.entries(claims.extra_attributes ?? {})) {
      if (isExtraAttribute(k) && typeof v === 'string') extra[k] = k === 'ni_number' ? v.replace(/\s+/g, '').toUpperCase() : v;
    }
    const identity: MatchingIdentity = {
      subject: claims.sub,
      level: claims.vot,
      journeyReference: claims.txn,
      attributes: flattenClaims(claims.verified_claims.claims),
      verifiedClaims: claims.verified_claims,
      extra,
      attempt: claims.attempt,
    };

    let body: Record<string, unknown>;
    try {
      body = claims.mode === 'create' ? await create(identity) : decisionClaims(await options.match(identity));
    } catch (e) {
      if (e instanceof MatchingRequestError) throw e;
      throw new MatchingRequestError(500, 'server_error', 'the matching function failed');
    }
    const iat = Math.floor(now() / 1000);
    return new SignJWT({ ...body, txn: claims.txn, in_response_to: claims.jti })
      .setProtectedHeader({ alg: MATCH_ALG, typ: MATCH_RESPONSE_TYP, kid: options.privateKey.kid! })
      .setIssuer(options.clientId)
      .setAudience(issuer)
      .setIssuedAt(iat)
      .setExpirationTime(iat + MATCH_TOKEN_TTL_SECONDS)
      .setJti(randomUUID())
      .sign(await signingKey);
  }

  async function create(identity: MatchingIdentity): Promise<Record<string, unknown>> {
    if (!options.createAccount) return { result: 'no-match' };
    const { accountRef } = await options.createAccount(identity);
    return { result: 'created', account_ref: checkedRef(accountRef) };
  }

  function decisionClaims(decision: MatchDecision): Record<string, unknown> {
    switch (decision?.result) {
      case 'match':
        return { result: 'match', account_ref: checkedRef(decision.accountRef) };
      case 'need-attribute':
        if (!isExtraAttribute(decision.attribute)) throw new MatchingRequestError(500, 'server_error', 'need-attribute with an unknown attribute');
        return { result: 'need-attribute', attribute: decision.attribute };
      case 'no-match':
        return { result: 'no-match' };
      default:
        throw new MatchingRequestError(500, 'server_error', 'the matching function returned no decision');
    }
  }

  function checkedRef(ref: unknown): string {
    if (typeof ref !== 'string' || ref.length === 0 || ref.length > 128) throw new MatchingRequestError(500, 'server_error', 'account reference must be 1 to 128 characters');
    return ref;
  }

  async function readBody(req: IncomingMessage, parsed: unknown): Promise<string> {
    const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== MATCH_CONTENT_TYPE) throw new MatchingRequestError(415, 'invalid_request', `the content type must be ${MATCH_CONTENT_TYPE}`);
    // A body parser (express.text({ type: 'application/jwt' }), koa bodyparser) may have read it already.
    if (typeof parsed === 'string') return parsed.trim();
    if (Buffer.isBuffer(parsed)) return parsed.toString('utf8').trim();
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) throw new MatchingRequestError(400, 'invalid_request', 'the request is too large');
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8').trim();
  }

  async function handle(req: IncomingMessage, parsed: unknown): Promise<{ status: number; type: string; body: string }> {
    try {
      if (req.method !== 'POST') throw new MatchingRequestError(405, 'invalid_request', 'use POST');
      return { status: 200, type: MATCH_CONTENT_TYPE, body: await answer(await readBody(req, parsed)) };
    } catch (e) {
      const err = e instanceof MatchingRequestError ? e : new MatchingRequestError(500, 'server_error', 'the matching endpoint failed');
      return { status: err.status, type: 'application/json', body: JSON.stringify({ error: err.code, error_description: err.message }) };
    }
  }

  const node = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const out = await handle(req, (req as IncomingMessage & { body?: unknown }).body);
    res.writeHead(out.status, { 'content-type': out.type, 'cache-control': 'no-store', ...(out.status === 405 ? { allow: 'POST' } : {}) });
    res.end(out.body);
  };
  const koa = async (ctx: KoaMatchingContext): Promise<void> => {
    const out = await handle(ctx.req, ctx.request?.rawBody ?? ctx.request?.body);
    ctx.status = out.status;
    ctx.type = out.type;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = out.body;
  };
  return Object.assign((req: IncomingMessage, res: ServerResponse) => node(req, res), { answer, node, koa });
}
