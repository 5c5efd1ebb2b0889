/**
 * GET /journey/:uid: choose a provider (the journey starts on the first visit). Its view model
 * is built by renderPicker, also used when a choice is missing.
 */
import type Koa from 'koa';
import { CURRENT_COOKIE, REMEMBER_COOKIE, type JourneyKit } from './journey-kit.js';
import { levelName, providerText, serviceText } from '@idbroker/policies';
import type { JourneyState } from '../journey-state.js';
import { pickerCertification } from '../../views/certification.js';

export async function showPicker(ctx: Koa.Context, kit: JourneyKit): Promise<void> {
  const { load, options, pageOf } = kit;
  const { journey, locale } = await load(ctx, { start: true });
  // This browser's journey, for /journey/resume (a random uid; gone when the browser closes).
  if (ctx.cookies.get(CURRENT_COOKIE) !== journey.uid) {
    ctx.cookies.set(CURRENT_COOKIE, journey.uid, { httpOnly: true, sameSite: 'lax', secure: options.secureCookies, overwrite: true });
  }
  if (journey.name !== 'choosingProvider' && journey.name !== 'atProvider') return ctx.redirect(pageOf(journey));
  renderPicker(ctx, kit, journey, locale);
}

export function renderPicker(ctx: Koa.Context, kit: JourneyKit, journey: JourneyState, locale: 'en' | 'cy', error?: 'choose_provider'): void {
  const { rpFor, offered, levels, renderFor, path, providerName } = kit;
  const rp = rpFor(journey);
  const list = offered(journey);
  const lowest = levels.parseVector(journey.requested[0]!);
  const remembered = ctx.cookies.get(REMEMBER_COOKIE);
  // Back from a provider where the person did not finish (?stopped=<id>, one it was sent to).
  const stopped = typeof ctx.query.stopped === 'string' && journey.tried.includes(ctx.query.stopped) ? providerName(ctx.query.stopped, locale) : undefined;
  renderFor(ctx, journey, 'picker',
    {
      service: { name: serviceText(rp, locale).name },
      level: { summary: journey.requested.join(' or '), confidenceName: levelName(levels.describe(lowest).confidence, locale) },
      providers: list.map((o) => {
        const text = providerText(o.policy, locale);
        return {
          id: o.policy.id,
          name: text.name,
          organisationType: o.policy.organisation_type,
          ...(text.description ? { description: text.description } : {}),
          hints: text.whatYouWillNeed,
          available: o.available,
          ...pickerCertification(o.policy, locale),
        };
      }),
      ...(remembered && list.some((o) => o.available && o.policy.id === remembered) ? { rememberedProviderId: remembered } : {}),
      formAction: path(journey, 'provider'),
      cannotUseHref: path(journey, 'other-ways'),
      ...(stopped ? { stoppedAt: { name: stopped } } : {}),
      unavailableCount: list.filter((o) => !o.available).length,
      csrfToken: journey.csrf,
      ...(error ? { error } : {}),
    },
    { status: error ? 400 : 200, locale },
  );
}
