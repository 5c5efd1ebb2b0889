/**
 * GET /support/case: a citizen looks a case up by its reference; POST: the case's status
 * (rate-limited, with keyed hashes of the address and of what was typed).
 */
import type Koa from 'koa';
import { resolveLocale } from '../../views/index.js';
import { CITIZEN_CSRF_COOKIE, typedReference, type SupportKit } from './support-kit.js';

export function showCaseLookup(ctx: Koa.Context, kit: SupportKit): void {
  const { o, citizenCsrf } = kit;
  o.views.render(ctx, 'support/case-lookup', { csrfToken: citizenCsrf(ctx) }, { locale: resolveLocale(ctx) });
}

export async function lookUpCase(ctx: Koa.Context, kit: SupportKit): Promise<void> {
  const { o, citizenCsrf, cases, serviceName, inactiveCloseDays } = kit;
  const locale = resolveLocale(ctx);
  // CSRF, then keyed hashes of the address and of what was typed (never the text itself).
  const typed = await typedReference(ctx, kit, { cookie: CITIZEN_CSRF_COOKIE, limits: 'case' });
  if (typed === undefined) return;
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
