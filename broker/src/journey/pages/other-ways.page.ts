/**
 * GET /journey/:uid/other-ways: the service's other ways to use it.
 */
import type Koa from 'koa';
import type { JourneyKit } from './journey-kit.js';
import { serviceText } from '@idbroker/policies';

export async function showOtherWays(ctx: Koa.Context, kit: JourneyKit): Promise<void> {
  const { load, rpFor, renderFor, path } = kit;
  const { journey, locale } = await load(ctx);
  const rp = rpFor(journey);
  renderFor(ctx, journey, 'other-ways',
    {
      service: { name: serviceText(rp, locale).name },
      ways: serviceText(rp, locale).otherWays,
      ...(journey.name === 'choosingProvider' || journey.name === 'atProvider' ? { backHref: path(journey) } : {}),
      returnAction: path(journey, 'return'),
      csrfToken: journey.csrf,
    },
    { locale },
  );
}
