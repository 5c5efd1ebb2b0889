/**
 * GET /support/staff/sign-in: sign in with a passkey; POST: the passkey's answer (audited
 * before the session exists).
 */
import type Koa from 'koa';
import { resolveLocale } from '../../views/index.js';
import { StaffError } from '../staff.js';
import { CEREMONY_COOKIE, safeJson, STAFF_COOKIE, type SupportKit } from './support-kit.js';

async function signInPage(ctx: Koa.Context, kit: SupportKit, model: { signedOut?: boolean; enrolled?: boolean; error?: 'not_verified' }, status = 200): Promise<void> {
  const { o, staff, ceremonyBinding } = kit;
  const options = await staff.authenticationOptions(ceremonyBinding(ctx));
  o.views.render(ctx, 'support/staff-sign-in', { optionsJson: safeJson(options), ...model }, { status, locale: resolveLocale(ctx) });
}

export async function showSignIn(ctx: Koa.Context, kit: SupportKit): Promise<void> {
  await signInPage(ctx, kit, { signedOut: ctx.query.signed_out === '1', enrolled: ctx.query.enrolled === '1' });
}

export async function signIn(ctx: Koa.Context, kit: SupportKit): Promise<void> {
  const { staff, record, cookie, readJson } = kit;
  const body = ctx.request.body as Record<string, string | undefined>;
  let signedIn;
  try {
    // The sign-in is audited once the passkey is verified and before the session exists.
    signedIn = await staff.completeAuthentication(readJson(body.response), ctx.cookies.get(CEREMONY_COOKIE), (account) =>
      record('sign_in', { type: 'staff.signedIn', actor: account.id, data: { role: account.role } }),
    );
  } catch (e) {
    if (!(e instanceof StaffError)) throw e;
    await record('sign_in', { type: 'staff.signInFailed', actor: 'unknown', data: { why: e.code } });
    return signInPage(ctx, kit, { error: 'not_verified' }, 401);
  }
  ctx.cookies.set(STAFF_COOKIE, signedIn.session.sid, { ...cookie('/support/staff', 'strict'), maxAge: undefined });
  ctx.status = 303;
  ctx.redirect('/support/staff');
}
