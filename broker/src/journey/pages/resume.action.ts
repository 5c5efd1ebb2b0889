/**
 * GET /journey/resume: back to where this browser's journey is now.
 */
import type Koa from 'koa';
import { CURRENT_COOKIE, type JourneyKit } from './journey-kit.js';
import { PublicError } from '../../errors.js';
import type { JourneyState } from '../journey-state.js';

/**
 * Where this browser's journey is now. The IdP stub links here from a sign-in page reached with
 * Back after the sign-in finished, so Back never ends on a provider's dead end.
 */
export async function resumeJourney(ctx: Koa.Context, kit: JourneyKit): Promise<void> {
  const { path } = kit;
  const uid = ctx.cookies.get(CURRENT_COOKIE);
  if (!uid || !/^[A-Za-z0-9_-]{8,128}$/.test(uid)) throw new PublicError(400, 'session_expired', 'no journey to resume in this browser');
  ctx.redirect(path({ uid } as JourneyState));
}
