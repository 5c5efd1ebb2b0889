/**
 * GET /support/staff: the cases a staff member may see (open, resolved or all, with counts and
 * filters), and search by reference.
 */
import type Koa from 'koa';
import { resolveLocale } from '../../views/index.js';
import { may } from '../permissions.js';
import type { SupportCase } from '../cases.js';
import { DONE, words, type SupportKit } from './support-kit.js';

/** The failure reasons a case can carry (support.reason.* in the locales), in the order staff meet them. */
const REASONS = ['no_match', 'level_not_met', 'provider_failed', 'fraud_flagged', 'matching_failed', 'no_provider', 'timed_out', 'cancelled'] as const;

export async function showQueue(ctx: Koa.Context, kit: SupportKit): Promise<void> {
  const { o, staffOf, cases, summary } = kit;
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
      counts: { open: all.filter(isOpen).length, resolved: all.filter((c) => !isOpen(c)).length, all: all.length, urgent: all.filter((c) => isOpen(c) && c.urgent).length },
      ...(searchError ? { searchError, searchValue: String(q.ref).slice(0, 40) } : {}),
      ...(typeof q.done === 'string' && DONE.has(q.done) ? { done: q.done } : {}),
      filters: { service: q.service ?? '', idp: q.idp ?? '', reason: q.reason ?? '' },
      services: o.policies.relyingParties.map((r) => ({ value: r.client_id, text: r.display_name })),
      idps: o.policies.identityProviders.map((i) => ({ value: i.id, text: i.display_name })),
      // Why a journey failed, in words (the case's reason is a code; staff choose by its words).
      reasons: REASONS.map((r) => ({ value: r, text: words(locale, 'support.reason.', r) })),
      csrfToken: session.csrf,
      canVerifyAudit: may(account, 'verify_audit'),
    },
    { locale },
  );
}
