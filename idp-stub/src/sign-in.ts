/** The sign-in interaction: password, then a one-time code or a passkey, then the grant. */
import { randomBytes, randomInt } from 'node:crypto';
import type { Vector } from '@idbroker/policies';
import { generateAuthenticationOptions, verifyAuthenticationResponse, type WebAuthnCredential } from '@simplewebauthn/server';
import type Koa from 'koa';
import type Provider from 'oidc-provider';
import { achievedVector, authenticationNeeded, requestedVectors, targetVector, type Authentication } from './assurance.js';
import { form, html, sameSecret } from './http.js';
import { subjectFor, type DemoIdentity } from './identities.js';
import { fromUiLocales, rememberLocale, resolveLocale, stringsFor, type Locale } from './locales.js';
import { messagePage, secondStepPage, signInPage } from './pages.js';
import { verifyPassword } from './passwords.js';
import type { InteractionState, LoginFacts, StubRuntime } from './stub-context.js';
import { behaviourFor, tokenFailModes } from './switches.js';

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

/** The paths this module answers: /interaction/<uid>[/login|/code|/passkey|/passkey/options|/cancel]. */
export const interactionPath = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|code|passkey|passkey\/options|cancel))?$/;

function phoneEnding(phone: string): string {
  return phone.replace(/\D/g, '').slice(-3);
}

export function interactionRoutes(stub: StubRuntime) {
  const { provider, policy, levels, idpNameIn, byUsername, interactions, passkeys, facts, now, options, origin, rpID, attempts, resumeUrl } = stub;
  const lockMinutes = Math.ceil(attempts.limits.lockMs / 60_000);

  const stateFor = (uid: string): InteractionState => {
    let s = interactions.get(uid);
    if (!s) {
      s = { csrf: randomBytes(16).toString('base64url'), createdAt: now().getTime(), passwordFailures: 0 };
      interactions.set(uid, s);
    }
    return s;
  };

  const target = (details: Details): Vector => {
    const requested = requestedVectors(levels, details.params as { vtr?: string; acr_values?: string });
    return targetVector(levels, policy, requested);
  };

  const finish = async (ctx: Koa.Context, result: Record<string, unknown>, merge = false) => {
    const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
    ctx.status = 303;
    ctx.redirect(to);
  };

  const finishLogin = async (ctx: Koa.Context, uid: string, details: Details, identity: DemoIdentity, performed: Authentication) => {
    const behaviour = behaviourFor(stub.switches, identity.username);
    const reached = achievedVector(levels, policy, target(details), identity, performed, behaviour.fail === 'lower-level');
    const vector = behaviour.level ? levels.parseVector(behaviour.level) : reached;
    const acr = levels.format(vector);
    const accountId = subjectFor(policy.id, identity.username);
    const amr = performed === 'Cl' ? ['pwd'] : performed === 'Cl.Cm' ? ['pwd', 'otp'] : ['pwd', 'hwk', 'user'];
    const scores = behaviour.scores !== undefined ? behaviour.scores : identity.gpg45;
    interactions.delete(uid);
    await finish(ctx, {
      login: { accountId, acr, amr, remember: false },
      idpStub: {
        username: identity.username,
        acr,
        confidence: vector.confidence,
        fraud: behaviour.fail === 'fraud',
        amr,
        scores,
        ...(tokenFailModes.includes(behaviour.fail) ? { tamper: behaviour.fail } : {}),
      },
    });
  };

  // Every dead end leads back to the broker's journey (/journey/resume), which knows where the person was.
  const toJourney = (locale: Locale) => ({ href: resumeUrl, text: stringsFor(locale).backToJourney });
  const tooManyPasswords = (locale: Locale) => {
    const t = stringsFor(locale);
    return messagePage({ idpName: idpNameIn(locale), locale, title: t.tooManyTitle, message: t.tooManyPasswords(lockMinutes), link: toJourney(locale) });
  };
  const tooManyCodes = (locale: Locale) => {
    const t = stringsFor(locale);
    return messagePage({ idpName: idpNameIn(locale), locale, title: t.tooManyCodesTitle, message: t.tooManyCodes(lockMinutes), link: toJourney(locale) });
  };
  const sessionEnded = (locale: Locale) => {
    const t = stringsFor(locale);
    return messagePage({ idpName: idpNameIn(locale), locale, title: t.sessionEndedTitle, message: t.sessionEnded, link: toJourney(locale) });
  };

  const failIfSwitched = async (ctx: Koa.Context, identity: DemoIdentity): Promise<boolean> => {
    const behaviour = behaviourFor(stub.switches, identity.username);
    if (behaviour.returnCodes?.length) {
      await finish(ctx, { error: 'access_denied', error_description: `return_code: ${behaviour.returnCodes.join(' ')}` });
      return true;
    }
    if (behaviour.fail === 'deny') {
      await finish(ctx, { error: 'access_denied', error_description: 'The identity provider could not confirm who you are' });
      return true;
    }
    if (behaviour.fail === 'error') {
      await finish(ctx, { error: 'server_error', error_description: 'The identity provider had a problem' });
      return true;
    }
    return false;
  };

  const renderSecondStep = (ctx: Koa.Context, locale: Locale, uid: string, s: InteractionState, needs: Authentication, errs?: { code?: string; passkey?: string }, status = 200) => {
    const identity = byUsername.get(s.username!)!;
    const codesLocked = attempts.codes.locked(identity.username);
    const allowCode = needs === 'Cl.Cm' && !codesLocked;
    const hasPasskey = (passkeys.get(identity.username) ?? []).length > 0;
    if (needs === 'Cl.Cm' && codesLocked && !hasPasskey) {
      html(ctx, tooManyCodes(locale), 429);
      return;
    }
    if (allowCode && (!s.otp || s.otp.used)) s.otp = { code: String(randomInt(0, 1_000_000)).padStart(6, '0'), used: false, attempts: 0 };
    html(
      ctx,
      secondStepPage({
        idpName: idpNameIn(locale),
        locale,
        uid,
        cancelHref: `/interaction/${uid}/cancel`,
        csrf: s.csrf,
        allowCode,
        code: s.otp?.code,
        phoneEnding: phoneEnding(identity.phone),
        hasPasskey,
        errors: errs,
      }),
      status,
    );
  };

  return async (ctx: Koa.Context, uid: string, action: string): Promise<void> => {
    let details: Details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch {
      // Finished (Back after it ended) or expired: say so, and lead back to the broker's journey.
      html(ctx, sessionEnded(resolveLocale(ctx)), 400);
      return;
    }
    if (details.uid !== uid) {
      html(ctx, sessionEnded(resolveLocale(ctx)), 400);
      return;
    }
    const s = stateFor(uid);
    // The toggle (?lang), else this sign-in's earlier choice, else the language the broker asked for.
    const locale = resolveLocale(ctx, s.locale ?? fromUiLocales((details.params as { ui_locales?: unknown }).ui_locales));
    if (ctx.query.lang === locale) s.locale = locale;
    rememberLocale(ctx, locale);
    const t = stringsFor(locale);
    const idpName = idpNameIn(locale);
    const prompt = details.prompt.name;

    if (prompt === 'consent') {
      // The broker is the only client and the citizen consents at the broker: grant what was asked.
      const last = (details.lastSubmission ?? {}) as { login?: { accountId?: string }; idpStub?: Omit<LoginFacts, 'accountId' | 'at'> };
      const accountId = details.session?.accountId ?? last.login?.accountId;
      if (!accountId || !last.idpStub) {
        await finish(ctx, { error: 'login_required', error_description: 'Sign in again' });
        return;
      }
      const grant = new provider.Grant({ accountId, clientId: options.broker.clientId });
      grant.addOIDCScope('openid');
      const missing = (details.prompt.details.missingOIDCClaims as string[] | undefined) ?? [];
      grant.addOIDCClaims([...new Set([...missing, 'sub', 'acr', 'amr', 'vot', 'vtm', 'ci'])]);
      const grantId = await grant.save();
      facts.set(grantId, { ...last.idpStub, accountId, at: now().getTime() });
      interactions.delete(uid);
      await finish(ctx, { consent: { grantId } }, true);
      return;
    }

    const needs = authenticationNeeded(levels, policy, target(details));
    const method = ctx.method;
    const signInFor = (extra: { username?: string; errors?: { username?: string; password?: string } } = {}) =>
      signInPage({ idpName, locale, action: `/interaction/${uid}/login`, csrf: s.csrf, langPath: `/interaction/${uid}`, cancelHref: `/interaction/${uid}/cancel`, ...extra });
    if (action === '' && method === 'GET') {
      if (s.username) renderSecondStep(ctx, locale, uid, s, needs);
      else html(ctx, signInFor());
      return;
    }
    if (action === 'cancel' && method === 'GET') {
      // "Choose another identity provider": this sign-in ends as access_denied at the broker, which
      // shows its list of providers again. The stub learns nothing about the service either way.
      interactions.delete(uid);
      await finish(ctx, { error: 'access_denied', error_description: 'the person chose to go back to the choice of provider' });
      return;
    }
    if (method !== 'POST') {
      ctx.status = 405;
      return;
    }
    const body = form(ctx);
    if (!body.csrf || !sameSecret(body.csrf, s.csrf)) {
      html(ctx, messagePage({ idpName, locale, title: t.problemTitle, message: t.formExpired, link: toJourney(locale) }), 403);
      return;
    }

    if (action === 'login') {
      const username = (body.username ?? '').trim().toLowerCase();
      const password = body.password ?? '';
      const errs: { username?: string; password?: string } = {};
      if (!username) errs.username = t.enterUsername;
      if (!password) errs.password = t.enterPassword;
      if (s.passwordFailures >= attempts.limits.passwordsPerInteraction || (username && attempts.passwords.locked(username))) {
        html(ctx, tooManyPasswords(locale), 429);
        return;
      }
      const identity = username ? byUsername.get(username) : undefined;
      if (!errs.username && !errs.password && (!identity || !verifyPassword(password, identity.password_hash))) {
        errs.password = t.wrongPassword;
        s.passwordFailures += 1;
        const accountLocked = attempts.passwords.fail(username);
        if (accountLocked || s.passwordFailures >= attempts.limits.passwordsPerInteraction) {
          html(ctx, tooManyPasswords(locale), 429);
          return;
        }
      }
      if (errs.username || errs.password || !identity) {
        html(ctx, signInFor({ ...(body.username !== undefined ? { username: body.username } : {}), errors: errs }), 400);
        return;
      }
      attempts.passwords.succeed(username);
      if (await failIfSwitched(ctx, identity)) return;
      if (needs === 'Cl') {
        await finishLogin(ctx, uid, details, identity, 'Cl');
        return;
      }
      s.username = identity.username;
      s.otp = undefined;
      ctx.status = 303;
      ctx.redirect(`/interaction/${uid}`);
      return;
    }

    if (!s.username) {
      ctx.status = 303;
      ctx.redirect(`/interaction/${uid}`);
      return;
    }
    const identity = byUsername.get(s.username)!;

    if (action === 'code') {
      if (attempts.codes.locked(identity.username)) {
        if (s.otp) s.otp.used = true;
        html(ctx, tooManyCodes(locale), 429);
        return;
      }
      if (needs !== 'Cl.Cm' || !s.otp || s.otp.used) {
        renderSecondStep(ctx, locale, uid, s, needs, { code: t.requestNewCode }, 400);
        return;
      }
      const code = (body.code ?? '').replace(/\s/g, '');
      if (!/^\d{6}$/.test(code) || !sameSecret(code, s.otp.code)) {
        s.otp.attempts += 1;
        if (attempts.codes.fail(identity.username)) {
          // The code stops working, and no new one is made until the lock ends.
          s.otp.used = true;
          html(ctx, tooManyCodes(locale), 429);
          return;
        }
        renderSecondStep(ctx, locale, uid, s, needs, { code: /^\d{6}$/.test(code) ? t.codeWrong : t.codeFormat }, 400);
        return;
      }
      attempts.codes.succeed(identity.username);
      s.otp.used = true;
      await finishLogin(ctx, uid, details, identity, 'Cl.Cm');
      return;
    }

    if (action === 'passkey/options') {
      const creds = passkeys.get(identity.username) ?? [];
      const opts = await generateAuthenticationOptions({
        rpID,
        allowCredentials: creds.map((c) => ({ id: c.id, transports: c.transports })),
        userVerification: 'required',
      });
      s.challenge = opts.challenge;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = opts;
      return;
    }

    if (action === 'passkey') {
      const challenge = s.challenge;
      s.challenge = undefined; // single use
      let verified = false;
      let cred: WebAuthnCredential | undefined;
      try {
        const response = JSON.parse(body.response ?? '') as { id?: string };
        cred = (passkeys.get(identity.username) ?? []).find((c) => c.id === response.id);
        if (challenge && cred) {
          const result = await verifyAuthenticationResponse({
            response: response as never,
            expectedChallenge: challenge,
            expectedOrigin: origin,
            expectedRPID: rpID,
            credential: cred,
            requireUserVerification: true,
          });
          verified = result.verified;
          if (verified) cred.counter = result.authenticationInfo.newCounter;
        }
      } catch {
        verified = false;
      }
      if (!verified) {
        renderSecondStep(ctx, locale, uid, s, needs, { passkey: t.passkeyFailed }, 400);
        return;
      }
      await finishLogin(ctx, uid, details, identity, 'Cl.Cm.Cp');
      return;
    }
    ctx.status = 404;
  };
}
