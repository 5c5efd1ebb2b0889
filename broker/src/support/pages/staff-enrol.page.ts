/**
 * GET /support/staff/enrol/:token: register a passkey from an invitation; POST: its answer
 * (audited before the account exists or the invitation is used up).
 */
import type Koa from 'koa';
import { resolveLocale } from '../../views/index.js';
import { PublicError } from '../../errors.js';
import { StaffError } from '../staff.js';
import { CEREMONY_COOKIE, safeJson, type SupportKit } from './support-kit.js';

export async function showEnrol(ctx: Koa.Context, kit: SupportKit): Promise<void> {
  const { o, staff, ceremonyBinding } = kit;
  const invite = await staff.peekInvite(ctx.params.token!);
  if (!invite) throw new PublicError(404, 'not_found', 'unknown or used staff invite');
  const options = await staff.registrationOptions(ctx.params.token!, ceremonyBinding(ctx));
  o.views.render(ctx, 'support/staff-enrol', { name: invite.name, role: invite.role, optionsJson: safeJson(options), formAction: `/support/staff/enrol/${ctx.params.token}` }, { locale: resolveLocale(ctx) });
}

export async function enrol(ctx: Koa.Context, kit: SupportKit): Promise<void> {
  const { staff, record, readJson } = kit;
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
}
