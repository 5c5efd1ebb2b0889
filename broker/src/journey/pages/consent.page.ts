/**
 * GET /journey/:uid/consent: what will be shared; POST: approve (then matching, release) or cancel.
 */
import type Koa from 'koa';
import type { JourneyKit } from './journey-kit.js';
import { serviceText, type AttributeName } from '@idbroker/policies';
import { formatAttribute } from '../present.js';
import { InvalidJourneyState } from '../transitions.js';
import { runMatching } from './release.js';

export async function showConsent(ctx: Koa.Context, kit: JourneyKit): Promise<void> {
  const { load, pageOf, rpFor, renderFor, providerName, path, options } = kit;
  const { journey, locale } = await load(ctx);
  if (journey.name !== 'consenting') return ctx.redirect(pageOf(journey));
  const rp = rpFor(journey);
  renderFor(ctx, journey, 'consent',
    {
      service: { name: serviceText(rp, locale).name, organisation: serviceText(rp, locale).organisation },
      provider: { name: providerName(journey.idpId, locale) ?? journey.idpId },
      attributes: journey.attributes
        .filter((a) => journey.identity.claims[a] !== undefined)
        .map((a: AttributeName) => ({ name: a, value: formatAttribute(a, journey.identity.claims[a], locale) })),
      formAction: path(journey, 'consent'),
      anotherAction: path(journey, 'another'),
      csrfToken: journey.csrf,
      offerReceipt: options.receipts !== undefined,
    },
    { locale },
  );
}

export async function decideConsent(ctx: Koa.Context, kit: JourneyKit): Promise<void> {
  const { load, checkCsrf, pageOf, journeys, options } = kit;
  const { details, journey } = await load(ctx);
  checkCsrf(ctx, journey);
  if (journey.name !== 'consenting') return ctx.redirect(pageOf(journey));
  const decision = (ctx.request.body as Record<string, string | undefined>).decision;
  if (decision !== 'approve') {
    const next = await journeys.apply(journey, [{ type: 'consentRefused' }]);
    return ctx.redirect(pageOf(next));
  }
  const given = await journeys.applyOnly(journey, [{ type: 'consentGiven' }]);
  if (given.name !== 'matching') throw new InvalidJourneyState(given.name, 'consentGiven');
  const wantsReceipt = (ctx.request.body as Record<string, string | undefined>).receipt === 'yes' && options.receipts !== undefined;
  await runMatching(ctx, kit, details, wantsReceipt ? { ...given, receipt: true } : given);
}
