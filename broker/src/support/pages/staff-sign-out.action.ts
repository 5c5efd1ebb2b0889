/**
 * POST /support/staff/sign-out: always takes effect, then audited.
 */
import type Koa from 'koa';
import { STAFF_COOKIE, type SupportKit } from './support-kit.js';

export async function signOut(ctx: Koa.Context, kit: SupportKit): Promise<void> {
  const { staffOf, checkStaffCsrf, staff, cookie, record } = kit;
  const { session, account } = await staffOf(ctx);
  checkStaffCsrf(ctx, session);
  // Signing out always takes effect (a session must never outlive a failed audit write).
  await staff.signOut(session.sid);
  ctx.cookies.set(STAFF_COOKIE, null, cookie('/support/staff', 'strict'));
  await record('sign_out', { type: 'staff.signedOut', actor: account.id });
  ctx.status = 303;
  ctx.redirect('/support/staff/sign-in?signed_out=1');
}
