/**
 * Cases opened by a service (DESIGN.md, "Matching"): a service that matches people itself can
 * open a support case for a journey reference it was given, so the citizen has one place to go
 * even when it is the service that could not find them.
 *
 * The service POSTs a JWT (typ `case-request+jwt`, ES256, signed with a key from its policy's
 * JWKS; iss = its client_id, aud = our issuer, at most 5 minutes old, jti used once) holding
 * codes only: the journey reference, a reason, a language. The journey must be one of this
 * service's (the audit trail says which service each journey was for); another service's
 * reference, or an unknown one, gets the same 404. The same journey always gives the same case.
 * The answer names the case and where the citizen can check it, and nothing about the IdP.
 */
import type Koa from 'koa';
import { errors as joseErrors, jwtVerify } from 'jose';
import type { Policies } from '@idbroker/policies';
import { CASE_REQUEST_TTL_SECONDS, CASE_REQUEST_TYP, isCaseReason, type CaseResponseBody } from '@idbroker/relying-party-sdk/protocol';
import type { AuditEvent, AuditTrail } from '../audit/index.js';
import type { Store } from '../store/index.js';
import { serviceKeys } from '../oidc/service-keys.js';
import type { Cases } from './cases.js';
import { requestedFromAudit } from '../journey/journeys.js';

export interface ServiceCasesOptions {
  issuer: string;
  policies: Policies;
  store: Store;
  audit: AuditTrail;
  cases: Cases;
  now: () => number;
  metrics?: { caseOpened(clientId: string): void };
}

class Refused extends Error {
  constructor(
    readonly status: number,
    readonly code: 'invalid_request' | 'invalid_client' | 'not_found',
    message: string,
  ) {
    super(message);
  }
}

const MAX_BODY = 8 * 1024;

async function readBody(ctx: Koa.Context): Promise<string> {
  const type = ctx.get('content-type').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/jwt') throw new Refused(415, 'invalid_request', 'send the case request as application/jwt');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Refused(413, 'invalid_request', 'the case request is too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8').trim();
}

/** Koa middleware for `POST /support/service-cases`. */
export function serviceCasesHandler(o: ServiceCasesOptions): Koa.Middleware {
  const keysOf = serviceKeys(o.policies);
  const statusUrl = new URL('/support/case', o.issuer.endsWith('/') ? o.issuer : `${o.issuer}/`).href;

  async function handle(ctx: Koa.Context): Promise<CaseResponseBody & { created: boolean }> {
    const jwt = await readBody(ctx);
    // Who says they sent it: only to pick the keys; the signature decides.
    let claimedIssuer: unknown;
    try {
      claimedIssuer = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')).iss;
    } catch {
      throw new Refused(400, 'invalid_request', 'the case request is not a JWT');
    }
    const rp = typeof claimedIssuer === 'string' ? o.policies.relyingParty(claimedIssuer) : undefined;
    if (!rp) throw new Refused(401, 'invalid_client', 'the case request is not from a known service');
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(jwt, keysOf(rp), {
        issuer: rp.client_id,
        audience: o.issuer,
        algorithms: ['ES256'],
        typ: CASE_REQUEST_TYP,
        maxTokenAge: `${CASE_REQUEST_TTL_SECONDS}s`,
        clockTolerance: 30,
        requiredClaims: ['iat', 'exp', 'jti'],
        currentDate: new Date(o.now()),
      }));
    } catch (e) {
      const why = e instanceof joseErrors.JOSEError ? e.code : 'invalid';
      throw new Refused(401, 'invalid_client', `the case request's signature or claims did not verify (${why})`);
    }
    const txn = payload.txn;
    const reason = payload.reason;
    const locale = payload.locale ?? 'en';
    if (typeof txn !== 'string' || !/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]$/.test(txn)) throw new Refused(400, 'invalid_request', 'txn must be a journey reference');
    if (!isCaseReason(reason)) throw new Refused(400, 'invalid_request', 'reason must be no_match, matching_failed or other');
    if (locale !== 'en' && locale !== 'cy') throw new Refused(400, 'invalid_request', 'locale must be en or cy');
    const exp = Number(payload.exp);
    const jtiKey = `service-case-jti:{${rp.client_id}}:${String(payload.jti)}`;
    const jtiTtl = Math.max(1, exp - Math.floor(o.now() / 1000) + 60);
    if (!(await o.store.setIfAbsent(jtiKey, '1', jtiTtl))) throw new Refused(400, 'invalid_request', 'the case request was replayed (its jti was seen before)');

    const events: AuditEvent[] = await o.audit.list({ journey: txn, limit: 1000 });
    const ofThisService = events.some((e) => e.data?.client === rp.client_id);
    if (!ofThisService) throw new Refused(404, 'not_found', 'no journey of this service has that reference');
    const existing = events.find((e) => e.caseRef && e.type.startsWith('case.opened'))?.caseRef;
    if (existing) return { case_ref: existing, status_url: statusUrl, created: false };

    const idp = [...events].reverse().find((e) => typeof e.data?.idp === 'string')?.data?.idp as string | undefined;
    const requested = requestedFromAudit(events.find((e) => typeof e.data?.requested === 'string')?.data);
    const opened = await o.cases.open(
      {
        service: rp.client_id,
        ...(idp ? { idp } : {}),
        requested,
        stage: 'service_matching',
        reason,
        journeyRef: txn,
        locale,
      },
      // Audit first: if the event cannot be written, no case exists.
      async (c) => {
        await o.audit.append({ type: 'case.openedByService', journey: txn, caseRef: c.ref, actor: `service:${rp.client_id}`, data: { client: rp.client_id, reason, stage: 'service_matching' } });
      },
    );
    o.metrics?.caseOpened(rp.client_id);
    return { case_ref: opened.ref, status_url: statusUrl, created: true };
  }

  return async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    try {
      const { created, ...body } = await handle(ctx);
      ctx.status = created ? 201 : 200;
      ctx.body = body;
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      ctx.status = e.status;
      ctx.body = { error: e.code, error_description: e.message };
    }
  };
}
