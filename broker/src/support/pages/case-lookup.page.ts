/**
 * GET /support/case: a citizen looks a case up by its reference; POST: the case's status
 * (rate-limited, with keyed hashes of the address and of what was typed).
 */
import type Koa from 'koa';
import { resolveLocale } from '../../views/index.js';
import { PublicError } from '../../errors.js';
import { CITIZEN_CSRF_COOKIE, sameToken, type SupportKit } from './support-kit.js';

export function showCaseLookup(ctx: Koa.Context, kit: SupportKit): void {
  const { o, citizenCsrf } = kit;
  o.views.render(ctx, 'support/case-lookup', { csrfToken: citizenCsrf(ctx) }, { locale: resolveLocale(ctx) });
}

export async function lookUpCase(ctx: Koa.Context, kit: SupportKit): Promise<void> {
  const { o, limits, citizenCsrf, cases, serviceName, inactiveCloseDays } = kit;
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
}
