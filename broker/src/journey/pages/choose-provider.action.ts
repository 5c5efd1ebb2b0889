/**
 * POST /journey/:uid/provider: the provider chosen; off to it (an IdP or a wallet).
 */
import type Koa from 'koa';
import { bindingName, bindingValue, REMEMBER_COOKIE, type JourneyKit } from './journey-kit.js';
import { renderPicker } from './picker.page.js';

export async function chooseProvider(ctx: Koa.Context, kit: JourneyKit): Promise<void> {
  const { load, checkCsrf, pageOf, offered, options, upstream, levels, journeys, policies } = kit;
  const { journey, locale } = await load(ctx);
  checkCsrf(ctx, journey);
  if (journey.name !== 'choosingProvider' && journey.name !== 'atProvider') return ctx.redirect(pageOf(journey));
  const body = ctx.request.body as Record<string, string | undefined>;
  const choice = offered(journey).find((o) => o.available && o.policy.id === body.provider);
  if (!choice) return renderPicker(ctx, kit, journey, locale, 'choose_provider');
  let redirectTo: string;
  if (choice.policy.kind === 'wallet' && options.wallets) {
    redirectTo = await options.wallets.choose(journey, choice.policy.id);
  } else {
    const { url, secrets } = await upstream.beginAuthorization(choice.policy.id, {
      requested: journey.requested.map((v) => levels.parseVector(v)),
      // Every provider is asked for the federation's standard set, whatever this service asked for,
      // so that what a provider is asked cannot tell it which service this is (docs/adr/0004). Only
      // what the service asked for is kept on the way back.
      attributes: policies.broker.identity_provider_request.attributes,
      // The language the person sees now, always sent: never whether or what the service asked.
      uiLocales: locale,
    });
    const next = await journeys.applyOnly(journey, [{ type: 'idpChosen', idpId: choice.policy.id, upstream: secrets }]);
    await journeys.save(next, [journeys.upstreamBinding(secrets.state, journey.uid, next)]);
    ctx.cookies.set(bindingName(secrets.state), bindingValue(next, secrets.state), {
      httpOnly: true,
      // Lax: sent on the top-level redirect back from the IdP (another site), not on its subrequests.
      sameSite: 'lax',
      secure: options.secureCookies,
      path: '/idp/',
      maxAge: policies.broker.journey.ttl_minutes * 60_000,
      overwrite: true,
    });
    redirectTo = url.href;
  }
  if (body.remember === 'yes') {
    ctx.cookies.set(REMEMBER_COOKIE, choice.policy.id, { httpOnly: true, sameSite: 'lax', secure: options.secureCookies, maxAge: 365 * 24 * 3600 * 1000, overwrite: true });
  } else {
    ctx.cookies.set(REMEMBER_COOKIE, null, { httpOnly: true, sameSite: 'lax', secure: options.secureCookies, overwrite: true });
  }
  ctx.status = 303;
  ctx.redirect(redirectTo);
}
