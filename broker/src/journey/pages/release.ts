/**
 * After consent (or the extra detail): ask the service to match, then release to the service.
 * Shared by the consent and extra-detail pages.
 */
import type Koa from 'koa';
import type { Details, JourneyKit } from './journey-kit.js';
import { randomBytes } from 'node:crypto';
import { pairwiseSubject } from '../../oidc/pairwise.js';
import type { DeliveredClaims } from '../../oidc/provider.js';
import type { JourneyEvent } from '../events.js';
import type { JourneyState, Matching, ReturnedIdentity } from '../journey-state.js';
import { InvalidJourneyState } from '../transitions.js';
import { showReceipt } from './consent-receipt.page.js';

/** Ask the service to match, and follow Verify's order: match, one extra detail, create, or no match. */
export async function runMatching(ctx: Koa.Context, kit: JourneyKit, details: Details, state: Matching): Promise<void> {
  const { options, matcher, journeys, rpFor, pageOf } = kit;
  const rp = rpFor(state);
  let events: JourneyEvent[];
  if (!rp.matching) {
    events = [{ type: 'signedInWithoutMatching' }];
  } else {
    const pairwise = pairwiseSubject(options.subjectKeys.pairwise, rp.sector_identifier, state.identity.internalSubject);
    const outcome = await matcher.match({ rp, journey: state, subject: pairwise, mode: 'match' });
    if (outcome.result === 'match') events = [{ type: 'matched', accountRef: outcome.accountRef }];
    else if (outcome.result === 'created') events = [{ type: 'accountCreated', accountRef: outcome.accountRef }];
    else if (outcome.result === 'failed') events = [{ type: 'matchingFailed' }];
    else {
      const extra = rp.matching.extra_attribute;
      const wanted = outcome.result === 'need-attribute' ? outcome.attribute : extra;
      if (wanted === 'ni_number' && !state.extra?.ni_number) {
        events = [{ type: 'extraAttributeNeeded', attribute: 'ni_number' }];
      } else if (rp.matching.account_creation) {
        const created = await matcher.match({ rp, journey: state, subject: pairwise, mode: 'create' });
        events =
          created.result === 'created' || created.result === 'match'
            ? [{ type: 'accountCreated', accountRef: created.accountRef }]
            : created.result === 'failed'
              ? [{ type: 'matchingFailed' }]
              : [{ type: 'notMatched' }];
      } else {
        events = [{ type: 'notMatched' }];
      }
    }
  }
  const next = await journeys.applyOnly(state, events);
  if (next.name === 'complete') return finish(ctx, kit, details, next, state.identity);
  await journeys.save(next);
  ctx.redirect(pageOf(next));
}

/** The citizen consented and matching (if any) succeeded: release to the service. */
async function finish(ctx: Koa.Context, kit: JourneyKit, details: Details, journey: JourneyState, identity: ReturnedIdentity): Promise<void> {
  const { options, provider, journeys, rpFor, rememberEnded } = kit;
  if (journey.name !== 'complete') throw new InvalidJourneyState(journey.name, 'delivered');
  const rp = rpFor(journey);
  const grant = new provider.Grant({ accountId: identity.internalSubject, clientId: rp.client_id });
  // The grant ends with the journey (the interaction's expiry), not 90 minutes from now.
  if (typeof details.exp === 'number') grant.exp = details.exp;
  // The scopes asked for (openid, and those that ask for attributes) are what the citizen approved.
  grant.addOIDCScope(String((details.params as { scope?: string }).scope ?? 'openid'));
  grant.addOIDCClaims(['sub', 'vot', 'vtm', 'txn', 'verified_claims', 'match']);
  // The grant and the interaction's result are written with the end of the journey, in one
  // round trip (all or nothing where the store allows): the adapter keeps their writes for us.
  const records = options.oidcRecords;
  grant.jti = randomBytes(32).toString('base64url');
  const deferred = records ? [records.key('Grant', grant.jti), records.key('Interaction', details.uid)] : [];
  for (const key of deferred) records!.defer(key);
  try {
    const grantId = await grant.save();
    const delivered: DeliveredClaims = {
      vot: identity.vot,
      vtm: `${options.issuer}/trustmark`,
      txn: journey.ref,
      ...(journey.attributes.length ? { verified_claims: { verification: identity.verification, claims: identity.claims } } : {}),
      ...(journey.accountRef && journey.outcome !== 'signedIn'
        ? { match: { result: journey.outcome === 'accountCreated' ? ('created' as const) : ('matched' as const), account_ref: journey.accountRef } }
        : {}),
    };
    const done = await journeys.applyOnly({ ...journey, released: Object.keys(delivered.verified_claims?.claims ?? {}) }, [{ type: 'delivered', grantId }]);
    const redirectTo = await provider.interactionResult(
      ctx.req,
      ctx.res,
      { login: { accountId: identity.internalSubject, acr: identity.vot, remember: false }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
    // Everything the service will get now sits sealed under the grant, until its token request
    // takes it; the journey itself is gone.
    await journeys.end(done, [options.deliveryWrite(grantId, delivered)], deferred.flatMap((key) => records!.take(key)));
    rememberEnded(ctx, journey, 'shared');
    if (journey.receipt && options.receipts) return showReceipt(ctx, kit, journey, delivered, redirectTo);
    ctx.redirect(redirectTo);
  } finally {
    for (const key of deferred) records!.take(key);
  }
}
