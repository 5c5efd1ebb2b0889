/**
 * POST /support/staff/cases/:ref/:action: note, escalate, assign, resolve (chosen, then
 * confirmed), reopen, urgent (mark, or change why) or not-urgent. Audited before it takes effect,
 * one audit event per change (marking urgent again for the same reason changes nothing).
 */
import type Koa from 'koa';
import { resolveLocale } from '../../views/index.js';
import { PublicError } from '../../errors.js';
import { may, type Action } from '../permissions.js';
import { RESOLUTION_OUTCOMES, URGENCY_REASONS, type ResolutionOutcome, type UrgencyReason } from '../cases.js';
import { renderCase } from './staff-case.page.js';
import type { SupportKit } from './support-kit.js';

/** Each action in the URL, and the permission it needs. */
const CASE_ACTIONS = { note: 'note', escalate: 'escalate', resolve: 'resolve', assign: 'assign', reopen: 'reopen', urgent: 'urgent', 'not-urgent': 'urgent' } as const satisfies Record<string, Action>;
type CaseAction = keyof typeof CASE_ACTIONS;
/** The audit event type of each action (`staff.<action>`, except where the URL's name is not an event's). */
const eventType = (action: CaseAction) => (action === 'not-urgent' ? 'staff.notUrgent' : `staff.${action}`);

export async function actOnCase(ctx: Koa.Context, kit: SupportKit): Promise<void> {
  const { o, staffOf, checkStaffCsrf, cases, refuse, staff, record } = kit;
  const { session, account } = await staffOf(ctx);
  checkStaffCsrf(ctx, session);
  if (!Object.hasOwn(CASE_ACTIONS, String(ctx.params.action))) throw new PublicError(404, 'not_found', 'no such action');
  const action = ctx.params.action as CaseAction;
  const permission = CASE_ACTIONS[action];
  const c = await cases.find(ctx.params.ref!);
  if (!c) throw new PublicError(404, 'not_found', 'no such case');
  if (!may(account, permission, c)) return refuse(ctx, session, account, permission, c.ref);
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
      if (body.outcome === undefined || body.outcome === '') return renderCase(ctx, kit, session, account, c, { outcomeError: true });
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
    case 'urgent': {
      // Why, from a short list (no free text: nothing about the person's circumstances is typed).
      if (body.reason === undefined || body.reason === '') return renderCase(ctx, kit, session, account, c, { urgencyError: true });
      const reason = body.reason as UrgencyReason;
      if (!URGENCY_REASONS.includes(reason)) throw new PublicError(400, 'bad_request', 'unknown urgency reason');
      if (c.status === 'resolved') throw new PublicError(400, 'bad_request', 'a resolved case cannot be marked urgent');
      if (c.urgent?.reason === reason) return unchanged(ctx, c.ref, action);
      change = () => cases.update(c.ref, (x) => ({ ...x, urgent: { reason, by: account.name, at: now } }));
      data = { urgency: reason };
      break;
    }
    case 'not-urgent': {
      if (!c.urgent) return unchanged(ctx, c.ref, action);
      change = () =>
        cases.update(c.ref, (x) => {
          const { urgent: _urgent, ...rest } = x;
          void _urgent;
          return rest;
        });
      break;
    }
    default:
      change = () => cases.reopen(c.ref);
      break;
  }
  await record('action', { type: eventType(action), actor: account.id, caseRef: c.ref, data });
  await change();
  ctx.status = 303;
  // What was done, said on the next page (an agent assigning a case away may no longer see it).
  const stillVisible = action !== 'assign' || may(account, 'view', { ...c, assignee: data.to ?? c.assignee });
  ctx.redirect(stillVisible ? `/support/staff/cases/${c.ref}?done=${action}` : `/support/staff?done=${action}`);
}

/** Nothing to change (the case is already so): no audit event, and the page says how the case stands. */
function unchanged(ctx: Koa.Context, ref: string, action: CaseAction): void {
  ctx.status = 303;
  ctx.redirect(`/support/staff/cases/${ref}?done=${action}`);
}
