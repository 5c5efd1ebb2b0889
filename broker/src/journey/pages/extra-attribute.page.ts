/**
 * GET /journey/:uid/extra: one more detail for matching (a National Insurance number); POST: give it, or skip.
 */
import type Koa from 'koa';
import type { JourneyKit } from './journey-kit.js';
import { serviceText } from '@idbroker/policies';
import { InvalidJourneyState } from '../transitions.js';
import { runMatching } from './release.js';

// HMRC's format (prefixes QQ are the published example, used by the demo identities).
const NI_NUMBER = /^(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-TW-Z][A-CEGHJ-NP-TW-Z]\d{6}[A-D]$/;

export async function showExtraAttribute(ctx: Koa.Context, kit: JourneyKit): Promise<void> {
  const { load, pageOf, rpFor, renderFor, path } = kit;
  const { journey, locale } = await load(ctx);
  if (journey.name !== 'needsExtraAttribute') return ctx.redirect(pageOf(journey));
  const rp = rpFor(journey);
  renderFor(ctx, journey, 'extra-attribute', { service: { name: serviceText(rp, locale).name }, attribute: journey.attribute, formAction: path(journey, 'extra'), csrfToken: journey.csrf }, { locale });
}

export async function giveExtraAttribute(ctx: Koa.Context, kit: JourneyKit): Promise<void> {
  const { load, checkCsrf, pageOf, journeys, rpFor, renderFor, path } = kit;
  const { details, journey, locale } = await load(ctx);
  checkCsrf(ctx, journey);
  if (journey.name !== 'needsExtraAttribute') return ctx.redirect(pageOf(journey));
  const body = ctx.request.body as Record<string, string | undefined>;
  if (body.decision === 'skip') {
    const next = await journeys.apply(journey, [{ type: 'extraAttributeDeclined' }]);
    return ctx.redirect(pageOf(next));
  }
  const raw = String(body.value ?? '');
  const value = raw.toUpperCase().replace(/[\s-]/g, '');
  const error = value === '' ? 'required' : NI_NUMBER.test(value) ? undefined : 'invalid_format';
  if (error) {
    const rp = rpFor(journey);
    return renderFor(ctx, journey, 'extra-attribute',
      { service: { name: serviceText(rp, locale).name }, attribute: journey.attribute, value: raw.slice(0, 20), error, formAction: path(journey, 'extra'), csrfToken: journey.csrf },
      { status: 400, locale },
    );
  }
  const matching = await journeys.applyOnly(journey, [{ type: 'extraAttributeGiven', attribute: 'ni_number', value }]);
  if (matching.name !== 'matching') throw new InvalidJourneyState(matching.name, 'extraAttributeGiven');
  await runMatching(ctx, kit, details, matching);
}
