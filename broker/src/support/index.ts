/**
 * Support and disputes: cases opened from failed journeys, a status page for citizens, and
 * the staff console. Every staff action, allowed or refused, goes into the audit trail, and
 * takes effect only once it is there.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type Koa from 'koa';
import type { Policies } from '@idbroker/policies';
import type { Store } from '../store/index.js';
import type { Sealer } from '../crypto/seal.js';
import type { AuditEventInput, AuditTrail } from '../audit/index.js';
import type { Views } from '../views/index.js';
import { messages, resolveLocale, type Locale } from '../views/index.js';
import type { JourneySupport } from '../journey/routes.js';
import type { Metrics } from '../metrics/index.js';
import { PublicError } from '../errors.js';
import { Cases, RESOLUTION_OUTCOMES, type ResolutionOutcome, type SupportCase } from './cases.js';
import { BROWSER_BINDING, CEREMONY_SECONDS, newBrowserBinding, Staff, StaffError, type StaffAccount, type StaffSession } from './staff.js';
import { may, type Action } from './permissions.js';
import { serviceCasesHandler } from './service-cases.js';
import { createRateLimiter } from './rate-limit.js';
import { citizenRecord } from './record.js';

export { Cases } from './cases.js';
export { Staff, ROLES, type Role } from './staff.js';

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

export interface Support {
  cases: Cases;
  staff: Staff;
  journeySupport: JourneySupport;
  router: Router;
  purgeExpired(): Promise<number>;
  /** Close open cases with no activity for the policy's period (audited, one event per case). Returns their references. */
  closeInactive(): Promise<string[]>;
  /** Run closeInactive and purgeExpired every `intervalMs` (unref'd). Returns a stop function. */
  startPurgeJob(intervalMs?: number): () => void;
}

const STAFF_COOKIE = 'idb_staff';
/** Ties a passkey ceremony (sign-in, enrolment) to the browser that asked for it: see BROWSER_BINDING. */
const CEREMONY_COOKIE = 'idb_staff_ceremony';
const CITIZEN_CSRF_COOKIE = 'idb_case_csrf';
const RECORD_CSRF_COOKIE = 'idb_record_csrf';
const require = createRequire(import.meta.url);
const SCRIPTS: Record<string, () => string> = {
  // The package exports only its modules; its browser bundle sits beside them.
  'simplewebauthn-browser.js': () => readFileSync(join(dirname(require.resolve('@simplewebauthn/browser')), '../dist/bundle/index.umd.min.js'), 'utf8'),
  'staff-passkey.js': () => readFileSync(new URL('./public/staff-passkey.js', import.meta.url), 'utf8'),
};

/** What a staff member tried when the audit trail could not take the event (names the message shown). */
type NotRecordedWhat = 'action' | 'view' | 'sign_in' | 'enrol' | 'sign_out';

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
const DONE = new Set(['note', 'escalate', 'assign', 'resolve', 'reopen']);

/** A code in words (reason, stage, outcome, event), or the code itself when no words are written for it. */
function words(locale: Locale, prefix: string, code: string): string {
  return messages[locale][prefix + code] ?? messages.en[prefix + code] ?? code;
}

/** A time as people read it, in UK time: "2 December 2026, 14:05" / "2 Rhagfyr 2026, 14:05". */
function when(locale: Locale, epochMs: number): string {
  if (!Number.isFinite(epochMs)) return '';
  return new Intl.DateTimeFormat(locale === 'cy' ? 'cy-GB' : 'en-GB', { day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'Europe/London' }).format(new Date(epochMs));
}

const safeJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');
const sameToken = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export function createSupport(o: SupportOptions): Support {
  const retentionDays = o.policies.broker.cases.retention_days;
  const inactiveCloseDays = o.policies.broker.cases.inactive_close_days;
  const cases = new Cases({ store: o.store, sealer: o.sealer, now: o.now, retentionDays, inactiveCloseDays });
  // Audit first: a case whose event cannot be written stays open until the next run.
  const closeInactive = () =>
    cases.closeInactive(async (c) => {
      await o.audit.append({ type: 'case.closedInactive', journey: c.journeyRef, caseRef: c.ref, actor: 'system', data: { days: inactiveCloseDays, status: c.status } });
    }).then((refs) => {
      for (const _ of refs) o.metrics?.caseResolved('closed_inactive');
      return refs;
    });
  const staff = new Staff({ store: o.store, sealer: o.sealer, issuer: o.issuer, now: o.now });
  const limits = createRateLimiter(o.store, o.rateLimitKey);
  const router = new Router();
  const forms = bodyParser({ enableTypes: ['form'], formLimit: '32kb' });
  const cookie = (path: string, sameSite: 'strict' | 'lax') => ({ httpOnly: true, sameSite, secure: o.secureCookies, path, overwrite: true });
  const serviceName = (id: string) => o.policies.relyingParty(id)?.display_name ?? id;
  const idpName = (id?: string) => (id ? (o.policies.identityProvider(id)?.display_name ?? id) : undefined);

  const journeySupport: JourneySupport = {
    async openCase(input) {
      // Audit first: if the event cannot be written, no case exists and the journey fails closed.
      const c = await cases.open(
        {
          service: input.clientId,
          ...(input.idpId ? { idp: input.idpId } : {}),
          requested: input.requested,
          stage: input.stage,
          reason: input.reason,
          journeyRef: input.journeyRef,
          locale: input.locale,
          ...(input.description || input.contact ? { citizen: { ...(input.description ? { description: input.description } : {}), ...(input.contact ? { contact: input.contact } : {}) } } : {}),
        },
        async (opened) => {
          await o.audit.append({ type: 'case.opened', journey: input.journeyRef, caseRef: opened.ref, actor: 'citizen', data: { client: input.clientId, reason: input.reason, stage: input.stage } });
        },
      );
      o.metrics?.caseOpened(input.clientId);
      return { reference: c.ref };
    },
  };

  // ---- assets for the passkey pages (no inline scripts) ----
  router.get('/support/assets/:file', (ctx) => {
    const load = SCRIPTS[ctx.params.file!];
    if (!load) return;
    ctx.type = 'text/javascript; charset=utf-8';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = load();
  });

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
  router.post('/support/service-cases', serviceCasesHandler({ issuer: o.issuer, policies: o.policies, store: o.store, audit: o.audit, cases, now: o.now, ...(o.metrics ? { metrics: o.metrics } : {}) }));

  router.get('/support/case', (ctx) => {
    o.views.render(ctx, 'support/case-lookup', { csrfToken: citizenCsrf(ctx) }, { locale: resolveLocale(ctx) });
  });

  router.post('/support/case', forms, async (ctx) => {
    const locale = resolveLocale(ctx);
    const body = ctx.request.body as Record<string, string | undefined>;
    const expected = ctx.cookies.get(CITIZEN_CSRF_COOKIE) ?? '';
    if (!expected || !sameToken(String(body.csrf ?? ''), expected)) throw new PublicError(403, 'bad_request', 'case lookup without CSRF token');
    const typed = String(body.reference ?? '').slice(0, 40);
    // Keyed hashes of the address and of what was typed (normalised): never the text itself.
    const perIp = await limits.hit('case-ip', ctx.ip, 600);
    const perRef = await limits.hit('case-ref', typed.toUpperCase().replace(/[^0-9A-Z]/g, ''), 3600);
    if (perIp > (o.lookupsPerIp ?? 10) || perRef > 20) {
      ctx.set('Retry-After', '600');
      return o.views.render(ctx, 'error', { status: 429, errorId: 'rate-limited', title: 'too_many_requests' }, { status: 429, locale });
    }
    if (!typed.trim()) {
      return o.views.render(ctx, 'support/case-lookup', { csrfToken: citizenCsrf(ctx), error: 'required' }, { status: 400, locale });
    }
    const found = await cases.find(typed);
    if (!found) {
      return o.views.render(ctx, 'support/case-lookup', { csrfToken: citizenCsrf(ctx), error: 'not_found', value: typed }, { status: 404, locale });
    }
    o.views.render(
      ctx,
      'support/case-lookup',
      {
        csrfToken: citizenCsrf(ctx),
        found: {
          ref: found.ref,
          status: found.status,
          service: serviceName(found.service),
          updatedAt: new Date(found.updatedAt).toISOString(),
          closedInactive: found.outcome === 'closed_inactive',
          ...(found.status === 'resolved' && found.outcome && found.outcome !== 'closed_inactive' ? { outcome: found.outcome } : {}),
          inactiveDays: inactiveCloseDays,
        },
      },
      { locale },
    );
  });

  // ---- citizens: everything held about a journey or case reference (page, or JSON download) ----
  router.get('/record', (ctx) => {
    o.views.render(ctx, 'record', { csrfToken: citizenCsrf(ctx, '/record') }, { locale: resolveLocale(ctx) });
  });

  router.post('/record', forms, async (ctx) => {
    const locale = resolveLocale(ctx);
    const body = ctx.request.body as Record<string, string | undefined>;
    const expected = ctx.cookies.get(RECORD_CSRF_COOKIE) ?? '';
    if (!expected || !sameToken(String(body.csrf ?? ''), expected)) throw new PublicError(403, 'bad_request', 'record lookup without CSRF token');
    const typed = String(body.reference ?? '').slice(0, 40);
    // Limited like the case lookup, with keyed hashes of the address and of what was typed.
    const perIp = await limits.hit('record-ip', ctx.ip, 600);
    const perRef = await limits.hit('record-ref', typed.toUpperCase().replace(/[^0-9A-Z]/g, ''), 3600);
    if (perIp > (o.lookupsPerIp ?? 10) || perRef > 20) {
      ctx.set('Retry-After', '600');
      return o.views.render(ctx, 'error', { status: 429, errorId: 'rate-limited', title: 'too_many_requests' }, { status: 429, locale });
    }
    const csrfToken = citizenCsrf(ctx, '/record');
    if (!typed.trim()) return o.views.render(ctx, 'record', { csrfToken, error: 'required' }, { status: 400, locale });
    const record = await citizenRecord({ cases, audit: o.audit, policies: o.policies, now: o.now }, typed);
    if (!record) return o.views.render(ctx, 'record', { csrfToken, error: 'not_found', value: typed }, { status: 404, locale });
    if (body.format === 'json') {
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'application/json';
      ctx.attachment(`record-${record.reference}.json`);
      ctx.body = `${JSON.stringify(record, null, 2)}\n`;
      return;
    }
    o.views.render(ctx, 'record', { csrfToken, found: record }, { locale });
  });

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

  const signInPage = async (ctx: Koa.Context, model: { signedOut?: boolean; enrolled?: boolean; error?: 'not_verified' }, status = 200) => {
    const options = await staff.authenticationOptions(ceremonyBinding(ctx));
    o.views.render(ctx, 'support/staff-sign-in', { optionsJson: safeJson(options), ...model }, { status, locale: resolveLocale(ctx) });
  };

  router.get('/support/staff/sign-in', staffPages, async (ctx) => {
    await signInPage(ctx, { signedOut: ctx.query.signed_out === '1', enrolled: ctx.query.enrolled === '1' });
  });

  router.post('/support/staff/sign-in', staffPages, forms, async (ctx) => {
    const body = ctx.request.body as Record<string, string | undefined>;
    let signedIn;
    try {
      // The sign-in is audited once the passkey is verified and before the session exists.
      signedIn = await staff.completeAuthentication(readJson(body.response), ctx.cookies.get(CEREMONY_COOKIE), (account) =>
        record('sign_in', { type: 'staff.signedIn', actor: account.id, data: { role: account.role } }),
      );
    } catch (e) {
      if (!(e instanceof StaffError)) throw e;
      await record('sign_in', { type: 'staff.signInFailed', actor: 'unknown', data: { why: e.code } });
      return signInPage(ctx, { error: 'not_verified' }, 401);
    }
    ctx.cookies.set(STAFF_COOKIE, signedIn.session.sid, { ...cookie('/support/staff', 'strict'), maxAge: undefined });
    ctx.status = 303;
    ctx.redirect('/support/staff');
  });

  router.get('/support/staff/enrol/:token', staffPages, async (ctx) => {
    const invite = await staff.peekInvite(ctx.params.token!);
    if (!invite) throw new PublicError(404, 'not_found', 'unknown or used staff invite');
    const options = await staff.registrationOptions(ctx.params.token!, ceremonyBinding(ctx));
    o.views.render(ctx, 'support/staff-enrol', { name: invite.name, role: invite.role, optionsJson: safeJson(options), formAction: `/support/staff/enrol/${ctx.params.token}` }, { locale: resolveLocale(ctx) });
  });

  router.post('/support/staff/enrol/:token', staffPages, forms, async (ctx) => {
    const body = ctx.request.body as Record<string, string | undefined>;
    try {
      // Audited once the passkey is verified and before the account exists or the invitation is used up.
      await staff.completeRegistration(ctx.params.token!, readJson(body.response), ctx.cookies.get(CEREMONY_COOKIE), (account) =>
        record('enrol', { type: 'staff.enrolled', actor: account.id, data: { role: account.role } }),
      );
    } catch (e) {
      if (!(e instanceof StaffError)) throw e;
      await record('enrol', { type: 'staff.enrolRefused', actor: 'unknown', data: { why: e.code } });
      throw new PublicError(400, 'bad_request', `staff enrolment refused: ${e.message}`);
    }
    ctx.status = 303;
    ctx.redirect('/support/staff/sign-in?enrolled=1');
  });

  router.post('/support/staff/sign-out', staffPages, forms, async (ctx) => {
    const { session, account } = await staffOf(ctx);
    checkStaffCsrf(ctx, session);
    // Signing out always takes effect (a session must never outlive a failed audit write).
    await staff.signOut(session.sid);
    ctx.cookies.set(STAFF_COOKIE, null, cookie('/support/staff', 'strict'));
    await record('sign_out', { type: 'staff.signedOut', actor: account.id });
    ctx.status = 303;
    ctx.redirect('/support/staff/sign-in?signed_out=1');
  });

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
  });

  router.get('/support/staff', staffPages, async (ctx) => {
    const { session, account } = await staffOf(ctx);
    const q = ctx.query as Record<string, string | undefined>;
    const locale = resolveLocale(ctx);
    // Search by reference (a journey's or a case's: they are the same for a case opened from a journey).
    let searchError: 'not_found' | undefined;
    if (q.ref !== undefined) {
      const found = q.ref.trim() ? await cases.find(q.ref) : undefined;
      if (found && may(account, 'view', found)) {
        ctx.status = 303;
        return ctx.redirect(`/support/staff/cases/${found.ref}`);
      }
      searchError = 'not_found';
    }
    const which = q.list === 'resolved' || q.list === 'all' ? q.list : 'open';
    // Each staff member sees the cases they may view (an agent: those assigned to them).
    const all = (await cases.queue({ ...(q.service ? { service: q.service } : {}), ...(q.idp ? { idp: q.idp } : {}), ...(q.reason ? { reason: q.reason } : {}), includeResolved: true })).filter((c) => may(account, 'view', c));
    const isOpen = (c: SupportCase) => c.status !== 'resolved';
    const list = all.filter((c) => (which === 'all' ? true : which === 'open' ? isOpen(c) : !isOpen(c)));
    o.views.render(
      ctx,
      'support/staff-queue',
      {
        signedInAs: { name: account.name, role: account.role },
        cases: list.map((c) => ({ ...summary(c), reason: words(locale, 'support.reason.', c.reason) })),
        list: which,
        counts: { open: all.filter(isOpen).length, resolved: all.filter((c) => !isOpen(c)).length, all: all.length },
        ...(searchError ? { searchError, searchValue: String(q.ref).slice(0, 40) } : {}),
        ...(typeof q.done === 'string' && DONE.has(q.done) ? { done: q.done } : {}),
        filters: { service: q.service ?? '', idp: q.idp ?? '', reason: q.reason ?? '' },
        services: o.policies.relyingParties.map((r) => ({ value: r.client_id, text: r.display_name })),
        idps: o.policies.identityProviders.map((i) => ({ value: i.id, text: i.display_name })),
        csrfToken: session.csrf,
        canVerifyAudit: may(account, 'verify_audit'),
      },
      { locale },
    );
  });

  router.get('/support/staff/cases/:ref', staffPages, async (ctx) => {
    const { session, account } = await staffOf(ctx);
    const c = await cases.find(ctx.params.ref!);
    if (!c) throw new PublicError(404, 'not_found', 'no such case');
    if (!may(account, 'view', c)) return refuse(ctx, session, account, 'view', c.ref);
    // A view is audited once per session and case an hour (not on every reload or return from an
    // action), and before the page is shown: if it cannot be recorded, the page is not shown.
    const viewedKey = `staff-viewed:{${session.sid}}:${c.ref}`;
    if ((await o.store.get(viewedKey)) === null) {
      await record('view', { type: 'staff.viewedCase', actor: account.id, caseRef: c.ref });
      await o.store.setIfAbsent(viewedKey, '1', 3600);
    }
    await renderCase(ctx, session, account, c);
  });

  /** The case page (also re-rendered, status 400, when an outcome was not chosen). */
  async function renderCase(ctx: Koa.Context, session: StaffSession, account: StaffAccount, c: SupportCase, extra: { outcomeError?: boolean } = {}) {
    const locale = resolveLocale(ctx);
    const timeline = [...(await o.audit.list({ journey: c.journeyRef })), ...(await o.audit.list({ caseRef: c.ref }))]
      // Events come from every broker instance's chain: in time order, each once.
      .sort((a, b) => (a.at !== b.at ? (a.at < b.at ? -1 : 1) : a.chain !== b.chain ? (a.chain < b.chain ? -1 : 1) : a.seq - b.seq))
      .filter((e, i, all) => all.findIndex((x) => x.chain === e.chain && x.seq === e.seq) === i)
      .map((e) => ({ at: when(locale, Date.parse(e.at)), type: words(locale, 'support.event.', e.type.replace(/\./g, '_')), actor: e.actor ?? '', reason: typeof e.data?.reason === 'string' ? words(locale, 'support.reason.', e.data.reason) : '' }));
    const people = await staff.list();
    const q = ctx.query as Record<string, string | undefined>;
    o.views.render(
      ctx,
      'support/staff-case',
      {
        signedInAs: { name: account.name, role: account.role },
        supportCase: {
          ...summary(c),
          reason: words(locale, 'support.reason.', c.reason),
          requested: c.requested.join(' or '),
          stage: words(locale, 'support.stage.', c.stage),
          journeyRef: c.journeyRef,
          createdAt: when(locale, c.createdAt),
          outcome: c.outcome ? words(locale, 'support.outcome.', c.outcome) : '',
          escalations: c.escalations.map((e) => ({ ...e, at: when(locale, e.at) })),
          notes: c.notes.map((n) => ({ ...n, at: when(locale, n.at) })),
          citizen: c.citizen ?? {},
        },
        ...(typeof q.done === 'string' && DONE.has(q.done) ? { done: q.done } : {}),
        ...(extra.outcomeError ? { outcomeError: true } : {}),
        timeline,
        can: Object.fromEntries((['note', 'escalate', 'resolve', 'assign', 'reopen'] as const).map((a) => [a, may(account, a, c)])),
        // Whom the case can go to (agents and supervisors, by name), and who has it now.
        assignable: people.filter((p) => p.role !== 'auditor').map((p) => ({ id: p.id, label: `${p.name} (${p.role})`, current: p.id === c.assignee })),
        assigneeName: c.assignee ? (people.find((p) => p.id === c.assignee)?.name ?? c.assignee) : '',
        outcomes: [...RESOLUTION_OUTCOMES],
        csrfToken: session.csrf,
      },
      { locale, ...(extra.outcomeError ? { status: 400 } : {}) },
    );
  }

  router.post('/support/staff/cases/:ref/:action', staffPages, forms, async (ctx) => {
    const { session, account } = await staffOf(ctx);
    checkStaffCsrf(ctx, session);
    const action = ctx.params.action as Action;
    if (!['note', 'escalate', 'resolve', 'assign', 'reopen'].includes(action)) throw new PublicError(404, 'not_found', 'no such action');
    const c = await cases.find(ctx.params.ref!);
    if (!c) throw new PublicError(404, 'not_found', 'no such case');
    if (!may(account, action, c)) return refuse(ctx, session, account, action, c.ref);
    const body = ctx.request.body as Record<string, string | undefined>;
    const text = (name: string, max: number) => String(body[name] ?? '').trim().slice(0, max);
    const now = o.now();
    // Check the input and work out the change; nothing is written until the audit event is.
    let data: Record<string, string> = {};
    let change: () => Promise<unknown>;
    switch (action) {
      case 'note': {
        const note = text('note', 2000);
        if (!note) throw new PublicError(400, 'bad_request', 'empty note');
        change = () => cases.update(c.ref, (x) => ({ ...x, status: x.status === 'open' ? 'in_progress' : x.status, notes: [...x.notes, { by: account.name, at: now, text: note }] }));
        break;
      }
      case 'escalate': {
        const to = body.to === 'idp' || body.to === 'service' ? body.to : undefined;
        const whom = text('whom', 120);
        if (!to || !whom) throw new PublicError(400, 'bad_request', 'escalation needs to (idp|service) and whom');
        change = () => cases.update(c.ref, (x) => ({ ...x, status: 'escalated', escalations: [...x.escalations, { to, whom, by: account.name, at: now }] }));
        data = { to };
        break;
      }
      case 'assign': {
        const target = await staff.account(text('staff', 64));
        if (!target) throw new PublicError(400, 'bad_request', 'no such staff member');
        change = () => cases.update(c.ref, (x) => ({ ...x, assignee: target.id, status: x.status === 'open' ? 'in_progress' : x.status }));
        data = { to: target.id };
        break;
      }
      case 'resolve': {
        const outcome = body.outcome as ResolutionOutcome;
        // The outcome is chosen on purpose (no default), and resolving is confirmed on a page that
        // says what closing deletes, before anything happens.
        if (body.outcome === undefined || body.outcome === '') return renderCase(ctx, session, account, c, { outcomeError: true });
        if (!RESOLUTION_OUTCOMES.includes(outcome)) throw new PublicError(400, 'bad_request', 'unknown outcome');
        if (body.confirm !== 'yes') {
          return o.views.render(
            ctx,
            'support/staff-resolve-confirm',
            {
              signedInAs: { name: account.name, role: account.role },
              ref: c.ref,
              outcome,
              deletes: { contact: Boolean(c.citizen?.contact), description: Boolean(c.citizen?.description), notes: c.notes.length },
              csrfToken: session.csrf,
            },
            { locale: resolveLocale(ctx) },
          );
        }
        change = async () => {
          await cases.resolve(c.ref, outcome, account.id);
          o.metrics?.caseResolved(outcome);
        };
        data = { outcome };
        break;
      }
      default:
        change = () => cases.reopen(c.ref);
        break;
    }
    await record('action', { type: `staff.${action}`, actor: account.id, caseRef: c.ref, data });
    await change();
    ctx.status = 303;
    // What was done, said on the next page (an agent assigning a case away may no longer see it).
    const stillVisible = action !== 'assign' || may(account, 'view', { ...c, assignee: data.to ?? c.assignee });
    ctx.redirect(stillVisible ? `/support/staff/cases/${c.ref}?done=${action}` : `/support/staff?done=${action}`);
  });

  router.get('/support/staff/audit', staffPages, async (ctx) => {
    const { session, account } = await staffOf(ctx);
    if (!may(account, 'verify_audit')) return refuse(ctx, session, account, 'verify_audit');
    const result = await o.audit.verify();
    await record('view', { type: 'staff.verifiedAudit', actor: account.id, data: { ok: result.ok, count: result.count } });
    o.views.render(ctx, 'support/staff-audit', { signedInAs: { name: account.name, role: account.role }, result: result.ok ? { ok: true, count: result.count } : { ok: false, count: result.count, brokenAt: result.brokenAt, reason: result.reason } }, { locale: resolveLocale(ctx) });
  });

  // A staff member who is not signed in is sent to sign in; keep that out of the error page.
  class SignInNeeded extends Error {}

  return {
    cases,
    staff,
    journeySupport,
    router,
    purgeExpired: () => cases.purgeExpired(),
    closeInactive,
    startPurgeJob(intervalMs = 3600_000) {
      const timer = setInterval(
        () =>
          void closeInactive()
            .catch(() => undefined)
            .then(() => cases.purgeExpired())
            .catch(() => undefined),
        intervalMs,
      );
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
