/**
 * POST /journey/:uid/return: give up and go back to the service, with an OIDC error carrying
 * the journey reference (and the case reference, if one was opened).
 */
import type Koa from 'koa';
import type { Details, JourneyKit } from './journey-kit.js';
import type { FailureReason, JourneyState } from '../journey-state.js';

const ERROR_DESCRIPTIONS: Record<FailureReason, string> = {
  cancelled: 'The person chose not to continue.',
  no_match: 'The person could not be matched to a record of this service.',
  level_not_met: 'The identity provider did not reach the level of assurance asked for.',
  provider_failed: 'The identity provider could not complete the check.',
  fraud_flagged: 'The identity check could not be completed.',
  timed_out: 'The journey took too long and timed out.',
  matching_failed: 'The service could not be asked to match the person.',
  no_provider: 'The person could not use any of the identity providers.',
};

function oidcErrorFor(reason: FailureReason): string {
  return reason === 'provider_failed' || reason === 'matching_failed' ? 'temporarily_unavailable' : 'access_denied';
}

export async function returnToServiceAction(ctx: Koa.Context, kit: JourneyKit): Promise<void> {
  const { load, checkCsrf, pageOf, journeys } = kit;
  const { details, journey } = await load(ctx);
  checkCsrf(ctx, journey);
  let failed = journey;
  // Giving up before choosing (or after coming back from) a provider: "I cannot use any of these".
  if (failed.name === 'atProvider') failed = await journeys.applyOnly(failed, [{ type: 'anotherProviderRequested' }]);
  if (failed.name === 'choosingProvider') failed = await journeys.applyOnly(failed, [{ type: 'noProviderUsable' }]);
  if (failed.name !== 'failed') return ctx.redirect(pageOf(failed));
  await returnToService(ctx, kit, details, failed);
}

/** Send the citizen back to the service with an OIDC error carrying the journey reference. */
export async function returnToService(ctx: Koa.Context, kit: JourneyKit, details: Details, journey: JourneyState & { name: 'failed' }): Promise<void> {
  const { options, journeys, rememberEnded } = kit;
  const params = details.params as Record<string, string | undefined>;
  const target = new URL(String(params.redirect_uri));
  target.searchParams.set('error', oidcErrorFor(journey.reason));
  target.searchParams.set('error_description', ERROR_DESCRIPTIONS[journey.reason]);
  target.searchParams.set('error_reason', journey.reason);
  target.searchParams.set('txn', journey.ref);
  if (journey.caseRef) target.searchParams.set('case_ref', journey.caseRef);
  if (params.state !== undefined) target.searchParams.set('state', params.state);
  target.searchParams.set('iss', options.issuer);
  await journeys.delete(journey);
  await details.destroy();
  rememberEnded(ctx, journey, 'returned');
  ctx.redirect(target.href);
}
