/**
 * GET /record: everything held about a journey or case reference; POST: the record as a page,
 * or as a JSON download.
 */
import type Koa from 'koa';
import { resolveLocale } from '../../views/index.js';
import { PublicError } from '../../errors.js';
import { citizenRecord } from '../record.js';
import { RECORD_CSRF_COOKIE, sameToken, type SupportKit } from './support-kit.js';

// ---- citizens: everything held about a journey or case reference (page, or JSON download) ----
export function showRecordLookup(ctx: Koa.Context, kit: SupportKit): void {
  const { o, citizenCsrf } = kit;
  o.views.render(ctx, 'record', { csrfToken: citizenCsrf(ctx, '/record') }, { locale: resolveLocale(ctx) });
}

export async function showRecord(ctx: Koa.Context, kit: SupportKit): Promise<void> {
  const { o, limits, citizenCsrf, cases } = kit;
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
}
