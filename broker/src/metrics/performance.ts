/**
 * What the public /performance page may publish of the closed days' counts (issue 12):
 * - failures by the party that caused them, so a provider is not blamed for a person not found
 *   in a service's records, a person who stopped, or a service that did not answer;
 * - no figure built from fewer than the policy's minimum of journeys (a small count, zero
 *   included, would tell a service which provider its one user of a rare outcome chose), and
 *   never exactly one hidden count in a row (it could be worked out from the total and the others).
 */
import { OUTCOMES_OK } from './index.js';

/** Who caused a journey not to succeed, by failure reason. */
export const CAUSE_OF: Readonly<Record<string, Cause>> = {
  level_not_met: 'provider',
  provider_failed: 'provider',
  fraud_flagged: 'provider',
  no_match: 'records',
  cancelled: 'person',
  timed_out: 'person',
  no_provider: 'person',
  matching_failed: 'service',
};
export const CAUSES = ['provider', 'records', 'person', 'service'] as const;
export type Cause = (typeof CAUSES)[number];

/** A published figure, or the fact that it is hidden. */
export type Figure = { value: number } | { hidden: true };

export interface PublishedRow {
  idp: string;
  journeys: Figure;
  succeeded: Figure;
  /** Journeys that did not succeed, by who caused it. */
  causes: Record<Cause, Figure>;
  /** Of the journeys the person saw through, the share the provider verified (whole per cent). */
  verifiedRate: Figure;
}

export function publishRow(idp: string, outcomes: Record<string, number>, minimum: number): PublishedRow {
  const count = (names: readonly string[]) => names.reduce((s, o) => s + (outcomes[o] ?? 0), 0);
  const succeeded = count(OUTCOMES_OK);
  const causes = Object.fromEntries(CAUSES.map((c) => [c, count(Object.keys(CAUSE_OF).filter((r) => CAUSE_OF[r] === c))])) as Record<Cause, number>;
  const journeys = succeeded + CAUSES.reduce((s, c) => s + causes[c], 0);
  const hidden = { hidden: true } as const;
  if (journeys < minimum) {
    return { idp, journeys: hidden, succeeded: hidden, causes: Object.fromEntries(CAUSES.map((c) => [c, hidden])) as Record<Cause, Figure>, verifiedRate: hidden };
  }
  // The row's parts (they add up to `journeys`): each hidden below the minimum, and if only one is
  // hidden, the smallest shown one too, so that no hidden part follows from the total and the rest.
  const parts: Array<[string, number]> = [['succeeded', succeeded], ...CAUSES.map((c): [string, number] => [c, causes[c]])];
  const hide = new Set(parts.filter(([, n]) => n < minimum).map(([k]) => k));
  if (hide.size === 1) {
    const next = parts.filter(([k]) => !hide.has(k)).sort((a, b) => a[1] - b[1])[0];
    if (next) hide.add(next[0]);
  }
  const figure = (key: string, n: number): Figure => (hide.has(key) ? hidden : { value: n });
  const seenThrough = journeys - causes.person;
  return {
    idp,
    journeys: { value: journeys },
    succeeded: figure('succeeded', succeeded),
    causes: Object.fromEntries(CAUSES.map((c) => [c, figure(c, causes[c])])) as Record<Cause, Figure>,
    // Shown only when the provider's count is: a rate of 100% would otherwise reveal a hidden zero.
    verifiedRate: seenThrough < minimum || hide.has('provider') ? hidden : { value: Math.round(((seenThrough - causes.provider) / seenThrough) * 100) },
  };
}
