/** Passkey set-up at /passkeys: sign in with a password, then register a passkey. */
import { randomBytes } from 'node:crypto';
import {
  generateRegistrationOptions,
  verifyRegistrationResponse,
  type AuthenticatorTransport as AuthenticatorTransportFuture,
} from '@simplewebauthn/server';
import type Koa from 'koa';
import { form, html, sameSecret } from './http.js';
import { resolveLocale, stringsFor } from './locales.js';
import { messagePage, registerPasskeyPage, signInPage } from './pages.js';
import { verifyPassword } from './passwords.js';
import type { PasskeySession, StubContext } from './stub-context.js';

const PASSKEY_COOKIE = 'idp_stub_passkeys';
const POST_PATHS = ['/passkeys/sign-in', '/passkeys/register/options', '/passkeys/register'];

export function isPasskeyPath(path: string): boolean {
  return path === '/passkeys' || path.startsWith('/passkeys/');
}

export function passkeyRoutes(stub: StubContext) {
  const { idpNameIn, byUsername, passkeys, passkeySessions, now, origin, rpID, attempts } = stub;
  const lockMinutes = Math.ceil(attempts.limits.lockMs / 60_000);

  const passkeySession = (ctx: Koa.Context): PasskeySession | undefined => {
    const token = ctx.cookies.get(PASSKEY_COOKIE);
    const s = token ? passkeySessions.get(token) : undefined;
    return s && s.exp > now().getTime() ? s : undefined;
  };

  return async (ctx: Koa.Context): Promise<void> => {
    const path = ctx.path;
    const locale = resolveLocale(ctx);
    const t = stringsFor(locale);
    const idpName = idpNameIn(locale);
    if (path === '/passkeys' && ctx.method === 'GET') {
      const s = passkeySession(ctx);
      if (s) {
        html(ctx, registerPasskeyPage({ idpName, locale, csrf: s.csrf, username: s.username, count: passkeys.get(s.username)?.length ?? 0 }));
        return;
      }
      const csrf = randomBytes(16).toString('base64url');
      ctx.cookies.set('idp_stub_csrf', csrf, { httpOnly: true, sameSite: 'lax', path: '/passkeys', signed: false, overwrite: true });
      html(ctx, signInPage({ idpName, locale, action: '/passkeys/sign-in', csrf, heading: t.signInForPasskey, langPath: '/passkeys' }));
      return;
    }
    if (!POST_PATHS.includes(path)) return; // the stub's "page not found"
    if (ctx.method !== 'POST') {
      ctx.status = 405;
      return;
    }
    const body = form(ctx);
    if (path === '/passkeys/sign-in') {
      const cookieCsrf = ctx.cookies.get('idp_stub_csrf') ?? '';
      if (!body.csrf || !cookieCsrf || !sameSecret(body.csrf, cookieCsrf)) {
        html(ctx, messagePage({ idpName, locale, title: t.problemTitle, message: t.formExpiredReload, link: { href: '/passkeys', text: t.signInAgainLink } }), 403);
        return;
      }
      const username = (body.username ?? '').trim().toLowerCase();
      const tooMany = () =>
        html(ctx, messagePage({ idpName, locale, title: t.tooManyTitle, message: t.tooManyPasswords(lockMinutes) }), 429);
      if (username && attempts.passwords.locked(username)) {
        tooMany();
        return;
      }
      const identity = byUsername.get(username);
      if (!identity || !verifyPassword(body.password ?? '', identity.password_hash)) {
        if (username && attempts.passwords.fail(username)) {
          tooMany();
          return;
        }
        html(
          ctx,
          signInPage({
            idpName,
            locale,
            action: '/passkeys/sign-in',
            csrf: cookieCsrf,
            username: body.username,
            heading: t.signInForPasskey,
            errors: username ? { password: t.wrongPassword } : { username: t.enterUsername },
          }),
          400,
        );
        return;
      }
      attempts.passwords.succeed(username);
      const token = randomBytes(24).toString('base64url');
      passkeySessions.set(token, { username: identity.username, csrf: randomBytes(16).toString('base64url'), exp: now().getTime() + 15 * 60_000 });
      ctx.cookies.set(PASSKEY_COOKIE, token, { httpOnly: true, sameSite: 'lax', path: '/passkeys', overwrite: true });
      ctx.status = 303;
      ctx.redirect('/passkeys');
      return;
    }
    const s = passkeySession(ctx);
    if (!s || !body.csrf || !sameSecret(body.csrf, s.csrf)) {
      html(ctx, messagePage({ idpName, locale, title: t.signInAgainTitle, message: t.passkeySessionEnded, link: { href: '/passkeys', text: t.signInAgainLink } }), 403);
      return;
    }
    if (path === '/passkeys/register/options') {
      const existing = passkeys.get(s.username) ?? [];
      const opts = await generateRegistrationOptions({
        rpName: idpName,
        rpID,
        userName: s.username,
        attestationType: 'none',
        excludeCredentials: existing.map((c) => ({ id: c.id, transports: c.transports })),
        authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
        supportedAlgorithmIDs: [-7],
      });
      s.challenge = opts.challenge;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = opts;
      return;
    }
    if (path === '/passkeys/register') {
      const challenge = s.challenge;
      s.challenge = undefined;
      try {
        const response = JSON.parse(body.response ?? '') as { response?: { transports?: AuthenticatorTransportFuture[] } };
        if (!challenge) throw new Error('no challenge');
        const result = await verifyRegistrationResponse({
          response: response as never,
          expectedChallenge: challenge,
          expectedOrigin: origin,
          expectedRPID: rpID,
          requireUserVerification: true,
        });
        if (!result.verified || !result.registrationInfo) throw new Error('not verified');
        const { credential } = result.registrationInfo;
        const list = passkeys.get(s.username) ?? [];
        list.push({ ...credential, transports: credential.transports ?? response.response?.transports });
        passkeys.set(s.username, list);
      } catch {
        html(ctx, registerPasskeyPage({ idpName, locale, csrf: s.csrf, username: s.username, count: passkeys.get(s.username)?.length ?? 0, error: t.passkeySetUpFailed }), 400);
        return;
      }
      html(ctx, messagePage({ idpName, locale, title: t.passkeySetUpTitle, message: t.passkeySetUp(passkeys.get(s.username)!.length) }));
      return;
    }
    // Unknown /passkeys/... paths fall through to the stub's "page not found".
  };
}
