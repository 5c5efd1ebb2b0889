/**
 * GET /journey/:uid/failure: what went wrong and the ways forward that fit who caused it (or,
 * once help was asked for, the case that was opened).
 */
import type Koa from 'koa';
import type { JourneyKit } from './journey-kit.js';
import { serviceText } from '@idbroker/policies';
import { RETRYABLE_WITH_ANOTHER_PROVIDER } from '../transitions.js';

export async function showFailure(ctx: Koa.Context, kit: JourneyKit): Promise<void> {
  const { load, pageOf, rpFor, providerName, renderFor, path, offered, options } = kit;
  const { journey, locale } = await load(ctx);
  if (journey.name !== 'failed') return ctx.redirect(pageOf(journey));
  const rp = rpFor(journey);
  const idpName = journey.idpId ? providerName(journey.idpId, locale) : undefined;
  const service = serviceText(rp, locale);
  // Help asked for: the case is the news (its reference is the journey's), not the failure.
  if (journey.caseRef) {
    return renderFor(ctx, journey, 'case-created',
      { reference: journey.caseRef, service: { name: service.name }, statusHref: '/support/case', returnAction: path(journey, 'return'), csrfToken: journey.csrf },
      { locale },
    );
  }
  const others = offered(journey).filter((o) => o.available && (!journey.idpId || o.policy.id !== journey.idpId || journey.reason === 'cancelled'));
  // The person chose to stop: nothing went wrong, so no reference to quote and no help to ask for.
  const stoppedByPerson = journey.reason === 'cancelled';
  renderFor(ctx, journey, 'failure',
    {
      reason: journey.reason,
      service: { name: service.name },
      ...(idpName ? { provider: { name: idpName } } : {}),
      ...(stoppedByPerson ? {} : { journeyRef: journey.ref }),
      ...(RETRYABLE_WITH_ANOTHER_PROVIDER.includes(journey.reason) && others.length > 0 ? { tryAnotherAction: path(journey, 'another') } : {}),
      otherWays: service.otherWays,
      ...(options.support && !stoppedByPerson ? { helpAction: path(journey, 'help') } : {}),
      returnAction: path(journey, 'return'),
      csrfToken: journey.csrf,
    },
    { locale },
  );
}
