/**
 * What the journey keeps of a provider's answer, the same whether it came from an IdP (ID token)
 * or a wallet (verified presentation): the internal subject, the level (capped to the strongest
 * vector the service asked for that was met), and only the claims the service asked for, with a
 * verification record that names no provider (the service never learns which, nor what kind).
 */
import type { Levels, Vector } from '@idbroker/policies';
import { internalSubject } from '../oidc/pairwise.js';
import { cappedVector } from '../oidc/requested.js';
import { UpstreamError } from '../upstream/errors.js';
import type { ReturnedIdentity } from './journey-state.js';

export function returnedIdentity(
  input: { providerId: string; subject: string; achieved: Vector; claims: Record<string, unknown> },
  journey: { attributes: readonly string[]; requested: readonly string[] },
  levels: Levels,
  internalKey: Uint8Array,
): ReturnedIdentity {
  const claims: Record<string, unknown> = {};
  for (const name of journey.attributes) {
    if (input.claims[name] !== undefined) claims[name] = input.claims[name];
  }
  const capped = cappedVector(levels, input.achieved, journey.requested.map((v) => levels.parseVector(v)));
  if (!capped) throw new UpstreamError('level_not_met', `reached ${levels.format(input.achieved)}, asked for ${journey.requested.join(' or ')}`);
  return {
    internalSubject: internalSubject(internalKey, input.providerId, input.subject),
    vot: levels.format(capped),
    verification: { trust_framework: 'uk_diatf', assurance_level: levels.describe(capped).confidence.gpg45 },
    claims,
  };
}
