/**
 * POST /journey/:uid/help: the help form (step 1), then open a support case (step "open").
 */
import type Koa from 'koa';
import type { JourneyKit } from './journey-kit.js';
import { serviceText } from '@idbroker/policies';

// Get help: the citizen may describe what happened and leave contact details, then a case opens.
export async function askForHelp(ctx: Koa.Context, kit: JourneyKit): Promise<void> {
  const { load, checkCsrf, pageOf, rpFor, renderFor, path, options, journeys } = kit;
  const { journey, locale } = await load(ctx);
  checkCsrf(ctx, journey);
  if (journey.name !== 'failed' || !options.support) return ctx.redirect(pageOf(journey));
  if (journey.caseRef) return ctx.redirect(pageOf(journey));
  const body = ctx.request.body as Record<string, string | undefined>;
  const rp = rpFor(journey);
  if (body.step !== 'open') {
    return renderFor(ctx, journey, 'case-create', { service: { name: serviceText(rp, locale).name }, journeyRef: journey.ref, formAction: path(journey, 'help'), backHref: path(journey, 'failure'), csrfToken: journey.csrf }, { locale });
  }
  const description = String(body.description ?? '').trim().slice(0, 1000);
  const contact = String(body.contact ?? '').trim().slice(0, 200);
  const { reference } = await options.support.openCase({
    journeyRef: journey.ref,
    clientId: journey.clientId,
    ...(journey.idpId ? { idpId: journey.idpId } : {}),
    requested: journey.requested,
    stage: journey.stage,
    reason: journey.reason,
    ...(description ? { description } : {}),
    ...(body.cannot_wait === 'yes' ? { cannotWait: true } : {}),
    ...(contact ? { contact } : {}),
    locale,
  });
  await journeys.save({ ...journey, caseRef: reference });
  ctx.redirect(pageOf(journey));
}
