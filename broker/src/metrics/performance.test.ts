/** What the public performance page may publish: failures by cause, small figures hidden. */
import { describe, expect, it } from 'vitest';
import { CAUSE_OF, publishRow } from './performance.js';
import { REASONS } from './index.js';

const hidden = { hidden: true };

describe('publishRow', () => {
  it('every failure reason has a cause', () => {
    expect(Object.keys(CAUSE_OF).sort()).toEqual([...REASONS].sort());
  });

  it('blames the provider only for its own failures: not for no match, a person stopping, or a service fault', () => {
    const row = publishRow('civic-id', { matched: 60, signedIn: 20, level_not_met: 12, provider_failed: 5, fraud_flagged: 3, no_match: 25, cancelled: 15, timed_out: 10, matching_failed: 30 }, 20);
    expect(row).toEqual({
      idp: 'civic-id',
      journeys: { value: 180 },
      succeeded: { value: 80 },
      causes: { provider: { value: 20 }, records: { value: 25 }, person: { value: 25 }, service: { value: 30 } },
      // Of the 155 journeys people saw through, the provider verified 135.
      verifiedRate: { value: 87 },
    });
  });

  it('hides a whole row built from fewer journeys than the minimum', () => {
    const row = publishRow('swift-verify', { matched: 15, no_match: 4 }, 20);
    expect(row).toEqual({ idp: 'swift-verify', journeys: hidden, succeeded: hidden, causes: { provider: hidden, records: hidden, person: hidden, service: hidden }, verifiedRate: hidden });
    expect(publishRow('swift-verify', {}, 20).journeys).toEqual(hidden);
  });

  it('hides each small count, zero included, and never leaves exactly one hidden count in a row', () => {
    // One no-match: hidden. Alone it could be worked out from the total, so the smallest shown part goes too.
    const row = publishRow('civic-id', { matched: 40, level_not_met: 25, no_match: 1, cancelled: 30, matching_failed: 22 }, 20);
    expect(row.journeys).toEqual({ value: 118 });
    expect(row.causes.records).toEqual(hidden);
    expect(row.causes.service).toEqual(hidden);
    expect(row.succeeded).toEqual({ value: 40 });
    expect(row.causes.provider).toEqual({ value: 25 });
    expect(row.causes.person).toEqual({ value: 30 });
    // A zero is a small count too.
    const none = publishRow('civic-id', { matched: 40, level_not_met: 25, cancelled: 30, matching_failed: 22, no_match: 21 }, 20);
    expect(Object.values(none.causes).every((f) => 'value' in f)).toBe(true);
    const zero = publishRow('civic-id', { matched: 40, cancelled: 30, matching_failed: 22, no_match: 21 }, 20);
    expect(zero.causes.provider).toEqual(hidden);
    // The rate is not shown when the provider's count is hidden (100% would reveal a zero).
    expect(zero.verifiedRate).toEqual(hidden);
    const parts = [zero.succeeded, ...Object.values(zero.causes)];
    expect(parts.filter((f) => 'hidden' in f).length).toBeGreaterThanOrEqual(2);
  });

  it('the minimum comes from policy: with 1, every count is shown', () => {
    const row = publishRow('civic-id', { signedIn: 2, level_not_met: 1 }, 1);
    expect(row).toMatchObject({ journeys: { value: 3 }, succeeded: { value: 2 }, causes: { provider: { value: 1 } }, verifiedRate: { value: 67 } });
    // A zero count is still hidden below the minimum of 1, and so is one more part.
    expect(row.causes.records).toEqual(hidden);
  });
});
