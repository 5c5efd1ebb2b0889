/**
 * What every support page and action shares: the options support runs with, the cases and staff,
 * the rate limits, the cookies and CSRF checks, and for staff pages the guard that sends a staff
 * member who is not signed in to sign in and refuses an action whose audit event cannot be
 * written. Pages and actions are in this folder, one module each; the table that wires them is
 * ../routes.ts.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type Koa from 'koa';
import type { Policies } from '@idbroker/policies';
import type { Store } from '../../store/index.js';
import type { Sealer } from '../../crypto/seal.js';
import type { AuditEventInput, AuditTrail } from '../../audit/index.js';
import type { Views } from '../../views/index.js';
import { messages, resolveLocale, type Locale } from '../../views/index.js';
import type { Metrics } from '../../metrics/index.js';
import { PublicError } from '../../errors.js';
import type { Cases, SupportCase } from '../cases.js';
import { BROWSER_BINDING, CEREMONY_SECONDS, newBrowserBinding, type Staff, type StaffAccount, type StaffSession } from '../staff.js';
import type { Action } from '../permissions.js';
import { serviceCasesHandler } from '../service-cases.js';
import { createRateLimiter } from '../rate-limit.js';

export interface SupportOptions {
  issuer: string;
  store: Store;
  sealer: Sealer;
  /** Key for the rate limits' keyed hashes (derived from the broker secret): no typed text or address is a store key. */
  rateLimitKey: Uint8Array;
  audit: AuditTrail;
  views: Views;
  policies: Policies;
  now: () => number;
  metrics?: Metrics;
  secureCookies: boolean;
  /** Citizen lookups allowed per client IP per 10 minutes. Default 10. */
  lookupsPerIp?: number;
  /** Where a staff action refused for want of an audit record is reported (with its error id). */
  logger?: { error(obj: object, msg?: string): void };
}

export const STAFF_COOKIE = 'idb_staff';
/** Ties a passkey ceremony (sign-in, enrolment) to the browser that asked for it: see BROWSER_BINDING. */
export const CEREMONY_COOKIE = 'idb_staff_ceremony';
export const CITIZEN_CSRF_COOKIE = 'idb_case_csrf';
export const RECORD_CSRF_COOKIE = 'idb_record_csrf';

/** What a staff member tried when the audit trail could not take the event (names the message shown). */
export type NotRecordedWhat = 'action' | 'view' | 'sign_in' | 'enrol' | 'sign_out';

/** A staff action that was not done because its audit event could not be written. */
class NotRecorded extends Error {
  override readonly name = 'NotRecorded';
  constructor(
    readonly what: NotRecordedWhat,
    readonly eventType: string,
    override readonly cause: Error,
  ) {
    super(`audit event ${eventType} not written: ${cause.message}`);
  }
}

/** JSON for a <script type="application/json"> block: nothing in it can close the element. */
/** Actions whose success the next page reports (`?done=`). */
export const DONE = new Set(['note', 'escalate', 'assign', 'resolve', 'reopen', 'urgent', 'not-urgent']);

/** A code in words (reason, stage, outcome, event), or the code itself when no words are written for it. */
export function words(locale: Locale, prefix: string, code: string): string {
  return messages[locale][prefix + code] ?? messages.en[prefix + code] ?? code;
}

/** A time as people read it, in UK time: "2 December 2026, 14:05" / "2 Rhagfyr 2026, 14:05". */
export function when(locale: Locale, epochMs: number): string {
  if (!Number.isFinite(epochMs)) return '';
  return new Intl.DateTimeFormat(locale === 'cy' ? 'cy-GB' : 'en-GB', { day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'Europe/London' }).format(new Date(epochMs));
}

export const safeJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');
export const sameToken = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

// A staff member who is not signed in is sent to sign in; keep that out of the error page.
/**
 * A citizen's look-up by reference (case status, record): the form's CSRF token checked against its
 * cookie, then rate limits per address and per reference typed (keyed hashes, never the text).
 * Returns what was typed (at most 40 characters), or undefined when it answered 429 itself.
 */
export async function typedReference(
  ctx: Koa.Context,
  kit: Pick<SupportKit, 'o' | 'limits'>,
  form: { cookie: string; limits: 'case' | 'record' },
): Promise<string | undefined> {
  const body = ctx.request.body as Record<string, string | undefined>;
  const expected = ctx.cookies.get(form.cookie) ?? '';
  if (!expected || !sameToken(String(body.csrf ?? ''), expected)) throw new PublicError(403, 'bad_request', `${form.limits} lookup without CSRF token`);
  const typed = String(body.reference ?? '').slice(0, 40);
  const perIp = await kit.limits.hit(`${form.limits}-ip`, ctx.ip, 600);
  const perRef = await kit.limits.hit(`${form.limits}-ref`, typed.toUpperCase().replace(/[^0-9A-Z]/g, ''), 3600);
  if (perIp > (kit.o.lookupsPerIp ?? 10) || perRef > 20) {
    ctx.set('Retry-After', '600');
    kit.o.views.render(ctx, 'error', { status: 429, errorId: 'rate-limited', title: 'too_many_requests' }, { status: 429, locale: resolveLocale(ctx) });
    return undefined;
  }
  return typed;
}

export class SignInNeeded extends Error {}

export type SupportKit = ReturnType<typeof createSupportKit>;

export function createSupportKit(o: SupportOptions, cases: Cases, staff: Staff) {
  const inactiveCloseDays = o.policies.broker.cases.inactive_close_days;
  const limits = createRateLimiter(o.store, o.rateLimitKey);
  const cookie = (path: string, sameSite: 'strict' | 'lax') => ({ httpOnly: true, sameSite, secure: o.secureCookies, path, overwrite: true });
  const serviceName = (id: string) => o.policies.relyingParty(id)?.display_name ?? id;
  const idpName = (id?: string) => (id ? (o.policies.identityProvider(id)?.display_name ?? id) : undefined);

  // ---- citizens: look a case up by its reference ----
  const citizenCsrf = (ctx: Koa.Context, path: '/support/case' | '/record' = '/support/case') => {
    const name = path === '/record' ? RECORD_CSRF_COOKIE : CITIZEN_CSRF_COOKIE;
    let token = ctx.cookies.get(name);
    if (!token || !/^[A-Za-z0-9_-]{32}$/.test(token)) {
      token = randomBytes(24).toString('base64url');
      ctx.cookies.set(name, token, cookie(path, 'strict'));
    }
    return token;
  };

  // A service that matches people itself opens a case for a journey it was given (signed request, JSON answer).
  const serviceCases = serviceCasesHandler({ issuer: o.issuer, policies: o.policies, store: o.store, audit: o.audit, cases, now: o.now, ...(o.metrics ? { metrics: o.metrics } : {}) });

  // ---- staff ----
  //
  // Audit before effect: every staff action is written to the audit trail first and takes
  // effect only once it is recorded. If the event cannot be written, nothing changes (no case
  // update, no session, no account) and the staff member sees a page saying so.
  async function record(what: NotRecordedWhat, event: AuditEventInput): Promise<void> {
    try {
      await o.audit.append(event);
    } catch (e) {
      throw new NotRecorded(what, event.type, e as Error);
    }
  }

  async function staffOf(ctx: Koa.Context): Promise<{ session: StaffSession; account: StaffAccount }> {
    const current = await staff.session(ctx.cookies.get(STAFF_COOKIE));
    if (!current) {
      ctx.status = 303;
      ctx.redirect('/support/staff/sign-in');
      throw new SignInNeeded();
    }
    return current;
  }

  async function refuse(ctx: Koa.Context, session: StaffSession, who: StaffAccount, action: Action, caseRef?: string): Promise<void> {
    await record(action === 'view' || action === 'verify_audit' ? 'view' : 'action', { type: 'staff.denied', actor: who.id, ...(caseRef ? { caseRef } : {}), data: { action, role: who.role } });
    o.views.render(ctx, 'support/staff-forbidden', { action, signedInAs: { name: who.name, role: who.role }, csrfToken: session.csrf }, { status: 403, locale: resolveLocale(ctx) });
  }

  /** Every staff route: sign-in redirects stay redirects; an action that could not be audited gets its own page. */
  const staffPages: Koa.Middleware = async (ctx, next) => {
    try {
      await next();
    } catch (e) {
      if (e instanceof SignInNeeded) return;
      if (!(e instanceof NotRecorded)) throw e;
      const errorId = randomUUID();
      o.logger?.error({ errorId, what: e.what, type: e.eventType, err: { message: e.cause.message } }, 'staff action not done: it could not be written to the audit trail');
      ctx.set('Retry-After', '60');
      o.views.render(ctx, 'support/staff-not-recorded', { what: e.what, errorId }, { status: 503, locale: resolveLocale(ctx) });
    }
  };

  /** The browser's ceremony binding (reused while it lasts, so two tabs both work), refreshed. */
  function ceremonyBinding(ctx: Koa.Context): string {
    const current = ctx.cookies.get(CEREMONY_COOKIE);
    const binding = current && BROWSER_BINDING.test(current) ? current : newBrowserBinding();
    ctx.cookies.set(CEREMONY_COOKIE, binding, { ...cookie('/support/staff', 'strict'), maxAge: CEREMONY_SECONDS * 1000 });
    return binding;
  }

  /** A passkey response from a form field; anything unreadable becomes {} (refused as unreadable). */
  const readJson = <T>(value: unknown): T => {
    try {
      return JSON.parse(String(value ?? '{}')) as T;
    } catch {
      return {} as T;
    }
  };

  function checkStaffCsrf(ctx: Koa.Context, session: StaffSession) {
    const given = String((ctx.request.body as Record<string, unknown> | undefined)?.csrf ?? '');
    if (!sameToken(given, session.csrf)) throw new PublicError(403, 'bad_request', 'staff form without CSRF token');
  }

  const overdueAfter = o.policies.broker.cases.overdue_after_days * 86_400_000;
  const summary = (c: SupportCase) => ({
    ref: c.ref,
    status: c.status,
    service: serviceName(c.service),
    idp: idpName(c.idp) ?? '',
    reason: c.reason,
    ageDays: Math.floor((o.now() - c.createdAt) / 86_400_000),
    overdue: c.status !== 'resolved' && o.now() - c.createdAt > overdueAfter,
    assignee: c.assignee ?? '',
    urgent: Boolean(c.urgent && c.status !== 'resolved'),
  });

  return {
    o, cases, staff, limits, inactiveCloseDays, cookie, serviceName, idpName, citizenCsrf, serviceCases,
    record, staffOf, refuse, staffPages, ceremonyBinding, readJson, checkStaffCsrf, summary,
  };
}
