/**
 * The audit trail's tests that hold on every Store: memory and single-node Redis
 * (audit.test.ts), Redis Cluster (store/redis-cluster.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../store/types.js';
import { createAuditTrail, GENESIS_HASH, hashEvent, type AuditEvent } from './index.js';

export interface AuditHarness {
  store: Store;
  /** Another client on the same data (a second broker instance), where the store is shared. */
  second?: () => Store;
}

function clock(start = Date.parse('2025-01-01T00:00:00Z')) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

/** `twoInstances`: the harness gives `second`, and the two-instance concurrency test runs. */
export function describeAuditTrailContract(name: string, make: () => AuditHarness | Promise<AuditHarness>, options: { twoInstances?: boolean } = {}): void {
  describe(`audit trail on the ${name} store`, () => {
    let store: Store;
    let second: (() => Store) | undefined;
    beforeEach(async () => {
      const made = await make();
      store = made.store;
      second = made.second;
    });
    afterEach(() => store.close());

    it('appends a linked chain and verifies it', async () => {
      const c = clock();
      const trail = createAuditTrail({ store, now: c.now });
      expect(await trail.verify()).toEqual({ ok: true, count: 0 });
      const events: AuditEvent[] = [];
      for (let i = 0; i < 5; i++) {
        c.advance(1000);
        events.push(await trail.append({ type: 'journey.stateChanged', journey: 'J1', data: { to: `s${i}` } }));
      }
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(events[0]!.prevHash).toBe(GENESIS_HASH);
      expect(events[0]!.at).toBe('2025-01-01T00:00:01.000Z');
      for (let i = 1; i < 5; i++) expect(events[i]!.prevHash).toBe(events[i - 1]!.hash);
      for (const e of events) expect(e.hash).toBe(hashEvent(e));
      expect(await trail.verify()).toEqual({ ok: true, count: 5 });
    });

    it('lists by position, by journey and by case', async () => {
      const trail = createAuditTrail({ store });
      await trail.append({ type: 'journey.started', journey: 'J1' });
      await trail.append({ type: 'journey.started', journey: 'J2' });
      await trail.append({ type: 'case.opened', journey: 'J1', caseRef: 'K7QM-2XPD-9RTB' });
      await trail.append({ type: 'staff.caseNoted', caseRef: 'K7QM-2XPD-9RTB', actor: 'staff-17' });
      expect((await trail.list()).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      expect((await trail.list({ from: 2, limit: 2 })).map((e) => e.seq)).toEqual([2, 3]);
      expect((await trail.list({ journey: 'J1' })).map((e) => e.seq)).toEqual([1, 3]);
      expect((await trail.list({ caseRef: 'K7QM-2XPD-9RTB' })).map((e) => e.seq)).toEqual([3, 4]);
      expect((await trail.list({ journey: 'J1', caseRef: 'K7QM-2XPD-9RTB' })).map((e) => e.seq)).toEqual([3]);
      expect((await trail.list({ journey: 'J1', from: 2 })).map((e) => e.seq)).toEqual([3]);
      expect(await trail.list({ journey: 'J-unknown' })).toEqual([]);
    });

    it('concurrent appends on one instance keep one linear chain', async () => {
      const trail = createAuditTrail({ store });
      const events = await Promise.all(Array.from({ length: 30 }, (_, i) => trail.append({ type: 'journey.started', journey: `J${i}` })));
      expect(events.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      expect(await trail.verify()).toEqual({ ok: true, count: 30 });
    });

    it('prune removes events past retention and verify starts from the anchor', async () => {
      const c = clock();
      const trail = createAuditTrail({ store, now: c.now, retentionDays: 1 });
      await trail.append({ type: 'journey.started', journey: 'J1' });
      await trail.append({ type: 'journey.started', journey: 'J2' });
      c.advance(12 * 3_600_000);
      await trail.append({ type: 'journey.started', journey: 'J3' });
      c.advance(13 * 3_600_000);
      expect(await trail.prune()).toBe(2);
      expect((await trail.list()).map((e) => e.seq)).toEqual([3]);
      expect(await trail.verify()).toEqual({ ok: true, count: 1 });
      const next = await trail.append({ type: 'journey.started', journey: 'J4' });
      expect(next.seq).toBe(4);
      expect(await trail.verify()).toEqual({ ok: true, count: 2 });
      expect(await trail.prune()).toBe(0);
    });

    it('appendAll writes the events and the state they describe together, in one round trip where the store allows', async () => {
      const trail = createAuditTrail({ store });
      await trail.append({ type: 'journey.started', journey: 'J0' }); // the chain exists
      const before = store.stats?.();
      const events = await trail.appendAll(
        [
          { type: 'journey.consentGiven', journey: 'J1' },
          { type: 'journey.delivered', journey: 'J1' },
        ],
        [
          { op: 'set', key: 'delivery:{g1}', value: 'sealed', ttlSeconds: 60 },
          { op: 'del', key: 'journey:{u1}' },
        ],
      );
      expect(events.map((e) => [e.seq, e.type])).toEqual([
        [2, 'journey.consentGiven'],
        [3, 'journey.delivered'],
      ]);
      const after = store.stats?.();
      expect(events[1]!.prevHash).toBe(events[0]!.hash);
      expect(await store.get('delivery:{g1}')).toBe('sealed');
      // One script call for the events and the writes (on a Cluster the writes follow it, per slot).
      if (before && after && !store.cluster) expect(after.roundTrips - before.roundTrips).toBe(1);
      expect((await trail.list({ journey: 'J1' })).map((e) => e.type)).toEqual(['journey.consentGiven', 'journey.delivered']);
      expect(await trail.verify()).toEqual({ ok: true, count: 3 });
      // Nothing to audit: a plain write.
      expect(await trail.appendAll([], [{ op: 'set', key: 'journey:{u2}', value: 'x', ttlSeconds: 60 }])).toEqual([]);
      expect(await store.get('journey:{u2}')).toBe('x');
    });

    it('appendAll writes nothing of the state when the events cannot be appended, and refuses a bad write alone', async () => {
      const errors: object[] = [];
      const trail = createAuditTrail({ store, logger: { error: (o) => errors.push(o) } });
      await trail.append({ type: 'journey.started', journey: 'J1' });
      // A malformed write fails its own caller only; a concurrent append still lands.
      const [bad, good] = await Promise.allSettled([
        trail.appendAll([{ type: 'journey.consentGiven', journey: 'J1' }], [{ op: 'set', key: 'journey:{u1}', value: 'x', ttlSeconds: -1 }]),
        trail.appendAll([{ type: 'journey.started', journey: 'J2' }], [{ op: 'set', key: 'journey:{u2}', value: 'y', ttlSeconds: 60 }]),
      ]);
      expect(bad.status).toBe('rejected');
      expect(good.status).toBe('fulfilled');
      expect(await store.get('journey:{u1}')).toBeNull();
      expect(await store.get('journey:{u2}')).toBe('y');
      // The audit refused (as test/support/audit-outage.ts does): the state is not written either.
      const writeIf = store.writeIf.bind(store);
      store.writeIf = () => Promise.reject(new Error('audit outage (test)'));
      try {
        await expect(trail.appendAll([{ type: 'journey.delivered', journey: 'J1' }], [{ op: 'set', key: 'journey:{u3}', value: 'z', ttlSeconds: 60 }])).rejects.toThrow('audit outage');
      } finally {
        store.writeIf = writeIf;
      }
      expect(await store.get('journey:{u3}')).toBeNull();
      expect((await trail.list()).map((e) => e.type)).toEqual(['journey.started', 'journey.started']);
      expect(await trail.verify()).toEqual({ ok: true, count: 2 });
    });

    it('fails closed: append throws when the store is unavailable', async () => {
      const errors: object[] = [];
      const trail = createAuditTrail({ store, logger: { error: (o) => errors.push(o) } });
      await store.close();
      await expect(trail.append({ type: 'journey.started', journey: 'J1' })).rejects.toThrow();
      expect(errors).toHaveLength(1);
    });

    if (options.twoInstances) it('four broker instances appending concurrently write independent chains: nothing lost, nothing duplicated, all verified', async () => {
      if (!second) throw new Error('the harness must give second() for twoInstances');
      const others = [second(), second(), second()];
      try {
        const trails = [store, ...others].map((s, i) => createAuditTrail({ store: s, chain: `instance-${i}` }));
        const jobs: Promise<AuditEvent>[] = [];
        for (let i = 0; i < 50; i++) {
          trails.forEach((t, j) => jobs.push(t.append({ type: 'journey.started', journey: `J${j}-${i}`, actor: 'system' })));
        }
        const events = await Promise.all(jobs);
        // Each instance's 50 events are its chain's 1..50, in the order they were asked for.
        for (const [j, t] of trails.entries()) {
          const mine = events.filter((e) => e.chain === t.chain);
          expect(mine.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
          expect(mine.map((e) => e.journey)).toEqual(Array.from({ length: 50 }, (_, i) => `J${j}-${i}`));
        }
        for (const t of trails) expect(await t.verify()).toEqual({ ok: true, count: 200 });
        const listed = await trails[1]!.list({ limit: 1000 });
        expect(listed).toHaveLength(200);
        expect(new Set(listed.map((e) => `${e.chain}/${e.seq}`)).size).toBe(200);
        expect(new Set(listed.map((e) => e.journey)).size).toBe(200);
        expect((await trails[2]!.list({ journey: 'J3-7' })).map((e) => [e.chain, e.seq])).toEqual([['instance-3', 8]]);
      } finally {
        await Promise.all(others.map((o) => o.close()));
      }
    });

    if (options.twoInstances) it('two processes given the same chain id still keep one linear chain', async () => {
      if (!second) throw new Error('the harness must give second() for twoInstances');
      const other = second();
      try {
        const a = createAuditTrail({ store, chain: 'shared' });
        const b = createAuditTrail({ store: other, chain: 'shared' });
        const jobs: Promise<AuditEvent>[] = [];
        for (let i = 0; i < 30; i++) {
          jobs.push(a.append({ type: 'journey.started', journey: `A${i}`, actor: 'system' }));
          jobs.push(b.append({ type: 'journey.started', journey: `B${i}`, actor: 'system' }));
        }
        const events = await Promise.all(jobs);
        expect(events.map((e) => e.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
        expect(await a.verify()).toEqual({ ok: true, count: 60 });
        expect(new Set((await b.list({ limit: 1000 })).map((e) => e.journey)).size).toBe(60);
      } finally {
        await other.close();
      }
    });
  });
}
