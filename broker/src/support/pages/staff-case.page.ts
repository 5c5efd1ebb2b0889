/**
 * GET /support/staff/cases/:ref: one case, its timeline in words and what the staff member may
 * do with it (a view is audited once per session and case an hour).
 */
import type Koa from 'koa';
import { resolveLocale } from '../../views/index.js';
import { PublicError } from '../../errors.js';
import { may } from '../permissions.js';
import { RESOLUTION_OUTCOMES, URGENCY_REASONS, type SupportCase } from '../cases.js';
import type { StaffAccount, StaffSession } from '../staff.js';
import { DONE, when, words, type SupportKit } from './support-kit.js';

export async function showCase(ctx: Koa.Context, kit: SupportKit): Promise<void> {
  const { o, staffOf, cases, refuse, record } = kit;
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
  await renderCase(ctx, kit, session, account, c);
}

/** The case page (also re-rendered, status 400, when an outcome or an urgency reason was not chosen). */
export async function renderCase(ctx: Koa.Context, kit: SupportKit, session: StaffSession, account: StaffAccount, c: SupportCase, extra: { outcomeError?: boolean; urgencyError?: boolean } = {}): Promise<void> {
  const { o, staff, summary } = kit;
  const locale = resolveLocale(ctx);
  const timeline = [...(await o.audit.list({ journey: c.journeyRef })), ...(await o.audit.list({ caseRef: c.ref }))]
    // Events come from every broker instance's chain: in time order, each once.
    .sort((a, b) => (a.at !== b.at ? (a.at < b.at ? -1 : 1) : a.chain !== b.chain ? (a.chain < b.chain ? -1 : 1) : a.seq - b.seq))
    .filter((e, i, all) => all.findIndex((x) => x.chain === e.chain && x.seq === e.seq) === i)
    .map((e) => ({ at: when(locale, Date.parse(e.at)), type: words(locale, 'support.event.', e.type.replace(/\./g, '_')), actor: e.actor ?? '', reason: typeof e.data?.reason === 'string' ? words(locale, 'support.reason.', e.data.reason) : typeof e.data?.urgency === 'string' ? words(locale, 'support.urgency.', e.data.urgency) : '' }));
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
        ...(c.urgent && c.status !== 'resolved' ? { urgency: { reason: c.urgent.reason, words: words(locale, 'support.urgency.', c.urgent.reason), by: c.urgent.by === 'citizen' ? words(locale, 'support.staff.', 'by_person') : c.urgent.by, at: when(locale, c.urgent.at) } } : {}),
      },
      ...(typeof q.done === 'string' && DONE.has(q.done) ? { done: q.done } : {}),
      ...(extra.outcomeError ? { outcomeError: true } : {}),
      ...(extra.urgencyError ? { urgencyError: true } : {}),
      timeline,
      can: Object.fromEntries((['note', 'escalate', 'resolve', 'assign', 'reopen', 'urgent'] as const).map((a) => [a, may(account, a, c)])),
      // Whom the case can go to (agents and supervisors, by name), and who has it now.
      assignable: people.filter((p) => p.role !== 'auditor').map((p) => ({ id: p.id, label: `${p.name} (${p.role})`, current: p.id === c.assignee })),
      assigneeName: c.assignee ? (people.find((p) => p.id === c.assignee)?.name ?? c.assignee) : '',
      outcomes: [...RESOLUTION_OUTCOMES],
      urgencyReasons: [...URGENCY_REASONS],
      csrfToken: session.csrf,
    },
    { locale, ...(extra.outcomeError || extra.urgencyError ? { status: 400 } : {}) },
  );
}
