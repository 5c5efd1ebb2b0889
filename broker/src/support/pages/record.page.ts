/**
 * GET /record: everything held about a journey or case reference; POST: the record as a page,
 * or as a JSON download.
 */
import type Koa from 'koa';
import { resolveLocale } from '../../views/index.js';
import { citizenRecord } from '../record.js';
import { RECORD_CSRF_COOKIE, typedReference, type SupportKit } from './support-kit.js';

// ---- citizens: everything held about a journey or case reference (page, or JSON download) ----
export function showRecordLookup(ctx: Koa.Context, kit: SupportKit): void {
  const { o, citizenCsrf } = kit;
  o.views.render(ctx, 'record', { csrfToken: citizenCsrf(ctx, '/record') }, { locale: resolveLocale(ctx) });
}

export async function showRecord(ctx: Koa.Context, kit: SupportKit): Promise<void> {
  const { o, citizenCsrf, cases } = kit;
  const locale = resolveLocale(ctx);
  // Guarded and limited like the case look-up (support-kit's typedReference).
  const typed = await typedReference(ctx, kit, { cookie: RECORD_CSRF_COOKIE, limits: 'record' });
  if (typed === undefined) return;
  const csrfToken = citizenCsrf(ctx, '/record');
  if (!typed.trim()) return o.views.render(ctx, 'record', { csrfToken, error: 'required' }, { status: 400, locale });
  const record = await citizenRecord({ cases, audit: o.audit, policies: o.policies, now: o.now }, typed);
  if (!record) return o.views.render(ctx, 'record', { csrfToken, error: 'not_found', value: typed }, { status: 404, locale });
  if ((ctx.request.body as Record<string, string | undefined>).format === 'json') {
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'application/json';
    ctx.attachment(`record-${record.reference}.json`);
    ctx.body = `${JSON.stringify(record, null, 2)}\n`;
    return;
  }
  o.views.render(ctx, 'record', { csrfToken, found: record }, { locale });
}
