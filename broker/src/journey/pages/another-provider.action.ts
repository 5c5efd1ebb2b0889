/**
 * POST /journey/:uid/another: choose another provider.
 */
import type Koa from 'koa';
import type { JourneyKit } from './journey-kit.js';

export async function chooseAnotherProvider(ctx: Koa.Context, kit: JourneyKit): Promise<void> {
  const { load, checkCsrf, pageOf, journeys } = kit;
  const { journey } = await load(ctx);
  checkCsrf(ctx, journey);
  if (journey.name !== 'failed' && journey.name !== 'atProvider' && journey.name !== 'consenting') return ctx.redirect(pageOf(journey));
  const next = await journeys.apply(journey, [{ type: 'anotherProviderRequested' }]);
  ctx.redirect(pageOf(next));
}
