/**
 * GET /idp/:idpId/callback: back from the IdP (one redirect URI per IdP), only in the browser that went there.
 */
import type Koa from 'koa';
import { bindingName, bindingValue, type JourneyKit } from './journey-kit.js';
import { timingSafeEqual } from 'node:crypto';
import { PublicError } from '../../errors.js';
import { UpstreamError } from '../../upstream/index.js';
import { returnedIdentity } from '../returned.js';
import type { JourneyEvent } from '../events.js';

export async function idpCallback(ctx: Koa.Context, kit: JourneyKit): Promise<void> {
  const { journeys, options, upstream, levels, path, pageOf } = kit;
  const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
  const found = state ? await journeys.peekUpstream(state) : null;
  if (!found) throw new PublicError(400, 'session_expired', 'unknown, used or missing state at the IdP callback');
  const journey = await journeys.load(found);
  if (!journey) throw new PublicError(400, 'session_expired', 'journey gone at the IdP callback');
  // Only the browser that went to the IdP may come back with its answer. Another one is told
  // so, and the state stays usable for the right browser: nothing is redeemed.
  const given = Buffer.from(ctx.cookies.get(bindingName(state)) ?? '');
  const expected = Buffer.from(bindingValue(journey, state));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new PublicError(400, 'other_browser', 'IdP callback from a browser that did not start this journey');
  }
  const uid = await journeys.takeUpstream(state);
  if (uid !== journey.uid) throw new PublicError(400, 'session_expired', 'state used meanwhile at the IdP callback');
  ctx.cookies.set(bindingName(state), null, { httpOnly: true, sameSite: 'lax', secure: options.secureCookies, path: '/idp/', overwrite: true });
  if (journey.name !== 'atProvider' || 'kind' in journey.upstream || journey.idpId !== ctx.params.idpId || journey.upstream.state !== state) {
    throw new PublicError(400, 'bad_request', 'IdP callback does not belong to this journey');
  }
  const callbackUrl = new URL(ctx.originalUrl, options.issuer);
  let event: JourneyEvent;
  try {
    const identity = await upstream.completeAuthorization(journey.idpId, callbackUrl, journey.upstream);
    // Only what the service asked for (and is permitted: checked at /authorize) is kept, and the
    // service is told the strongest level it asked for that was met (journey/returned.ts).
    event = {
      type: 'idpReturned',
      identity: returnedIdentity(
        { providerId: identity.idpId, subject: identity.subject, achieved: identity.achieved, claims: identity.verifiedClaims.claims },
        journey,
        levels,
        options.subjectKeys.internal,
      ),
    };
  } catch (e) {
    if (!(e instanceof UpstreamError)) throw e;
    ctx.state.failureDetail = e.detail;
    event = { type: 'idpFailed', reason: e.reason === 'invalid_response' ? 'provider_failed' : e.reason, cause: e.code };
  }
  // access_denied (the person chose another provider there, or it could not confirm them): the
  // choice of provider again, saying so, rather than a dead end (both steps audited).
  const stoppedThere = event.type === 'idpFailed' && event.reason === 'cancelled';
  const next = await journeys.apply(journey, stoppedThere ? [event, { type: 'anotherProviderRequested' }] : [event]);
  if (stoppedThere && next.name === 'choosingProvider') return ctx.redirect(`${path(next)}?stopped=${encodeURIComponent(journey.idpId)}`);
  ctx.redirect(next.name === 'consenting' ? path(next, 'consent') : pageOf(next));
}
