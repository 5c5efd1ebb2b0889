/**
 * POST /support/staff/cases/:ref/:action: note, escalate, assign, resolve (chosen, then
 * confirmed) or reopen. Audited before it takes effect.
 */
import type Koa from 'koa';
import { resolveLocale } from '../../views/index.js';
import { PublicError } from '../../errors.js';
import { may, type Action } from '../permissions.js';
import { RESOLUTION_OUTCOMES, type ResolutionOutcome } from '../cases.js';
import { renderCase } from './staff-case.page.js';
import type { SupportKit } from './support-kit.js';

export async function actOnCase(ctx: Koa.Context, kit: SupportKit): Promise<void> {
  const { o, staffOf, checkStaffCsrf, cases, refuse, staff, record } = kit;
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
}
