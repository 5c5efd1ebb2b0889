import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { startRedis } from '../../../test/support/redis.js';
import { createMemoryStore } from '../store/memory.js';
import { createRedisStore } from '../store/redis.js';
import type { Store } from '../store/types.js';
import { describeAuditTrailContract } from './audit-contract.js';
import { AUDIT_KEYS, AuditError, canonicalJson, createAuditTrail, GENESIS_HASH, hashEvent } from './index.js';

const url = inject('redisUrl');
const filePrefix = `t:${randomBytes(6).toString('hex')}:audit:`;
let n = 0;

describe('audit trail: validation (no personal data)', () => {
  let store: Store;
  beforeEach(() => void (store = createMemoryStore()));
  afterEach(() => store.close());

  it('accepts codes, numbers, booleans and null', async () => {
    const trail = createAuditTrail({ store });
    const e = await trail.append({
      type: 'journey.idpChosen',
      journey: 'J-7QX2',
      actor: 'citizen',
      data: { idp: 'idp-a', level: 'Cl.Cm.P2', attempt: 2, extra: false, none: null },
    });
    expect(e.data).toEqual({ idp: 'idp-a', level: 'Cl.Cm.P2', attempt: 2, extra: false, none: null });
  });

  it('refuses free text, long strings, nested values and bad names, without echoing the value', async () => {
    const trail = createAuditTrail({ store });
    const bad: unknown[] = [
      { type: 'journey.matched', data: { name: 'Margaret Okafor' } },
      { type: 'journey.matched', data: { email: 'm@example.org' } },
      { type: 'journey.matched', data: { address: '12 Station Road, Exampleton' } },
      { type: 'journey.matched', data: { x: 'a'.repeat(65) } },
      { type: 'journey.matched', data: { x: { nested: 'y' } } },
      { type: 'journey.matched', data: { x: ['a'] } },
      { type: 'journey.matched', data: { x: Number.NaN } },
      { type: 'journey.matched', data: { 'bad key': 'y' } },
      { type: 'journey.matched', journey: 'has space' },
      { type: 'journey.matched', actor: 'Margaret Okafor' },
      { type: 'journey.matched', caseRef: '' },
      { type: 'no dots' },
      { type: 'Journey.Matched' },
    ];
    for (const input of bad) {
      const error = await trail.append(input as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuditError);
      expect((error as Error).message).not.toMatch(/Margaret|example\.org|Station/);
    }
    expect(await trail.list()).toEqual([]);
  });

  it('hashes a canonical JSON: key order does not matter, any field does', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"e":3,"f":2}]},"b":1}');
    const body = { seq: 1, at: '2025-01-01T00:00:00.000Z', type: 'a.b', prevHash: GENESIS_HASH, data: { x: 1, y: 'z' } };
    const reordered = { data: { y: 'z', x: 1 }, prevHash: GENESIS_HASH, type: 'a.b', at: body.at, seq: 1 };
    expect(hashEvent(reordered)).toBe(hashEvent(body));
    expect(hashEvent({ ...body, data: { x: 2, y: 'z' } })).not.toBe(hashEvent(body));
    expect(hashEvent({ ...body, prevHash: 'f'.repeat(64) })).not.toBe(hashEvent(body));
  });
});

describeAuditTrailContract('memory', () => ({ store: createMemoryStore() }));
describeAuditTrailContract('redis', () => {
  const prefix = `${filePrefix}${n++}:`;
  return { store: createRedisStore({ redisUrl: url, keyPrefix: prefix }), second: () => createRedisStore({ redisUrl: url, keyPrefix: prefix }) };
}, { twoInstances: true });

describe('audit trail on Redis: tampering, concurrency, restarts', () => {
  let prefix: string;
  let store: Store;
  let raw: Redis;
  beforeEach(() => {
    prefix = `${filePrefix}${n++}:`;
    store = createRedisStore({ redisUrl: url, keyPrefix: prefix });
    raw = new Redis(url);
  });
  afterEach(async () => {
    raw.disconnect();
    await store.close();
  });

  const chain = 'broker-a';
  async function seed(count: number) {
    const trail = createAuditTrail({ store, chain });
    for (let i = 0; i < count; i++) await trail.append({ type: 'journey.stateChanged', journey: 'J1', data: { step: i } });
    return trail;
  }
  const eventKey = (seq: number) => `${prefix}${AUDIT_KEYS.event(chain, seq)}`;

  it('detects an edited event', async () => {
    const trail = await seed(6);
    const e = JSON.parse((await raw.get(eventKey(3)))!);
    e.data.step = 99;
    await raw.set(eventKey(3), JSON.stringify(e), 'KEEPTTL');
    expect(await trail.verify()).toMatchObject({ ok: false, count: 2, brokenAt: 3, reason: expect.stringMatching(/edited/) });
  });

  it('detects an edited event whose hash was recomputed, at the next link', async () => {
    const trail = await seed(6);
    const e = JSON.parse((await raw.get(eventKey(3)))!);
    e.data.step = 99;
    e.hash = hashEvent(e);
    await raw.set(eventKey(3), JSON.stringify(e), 'KEEPTTL');
    expect(await trail.verify()).toMatchObject({ ok: false, count: 3, brokenAt: 4, reason: expect.stringMatching(/does not link/) });
  });

  it('detects a deleted event, in the middle and at the end', async () => {
    const trail = await seed(6);
    await raw.del(eventKey(6));
    expect(await trail.verify()).toMatchObject({ ok: false, count: 5, brokenAt: 6, reason: expect.stringMatching(/missing/) });
    await raw.del(eventKey(2));
    expect(await trail.verify()).toMatchObject({ ok: false, count: 1, brokenAt: 2, reason: expect.stringMatching(/missing/) });
  });

  it('detects a deleted event even when the head was rolled back too', async () => {
    const trail = await seed(6);
    await raw.del(eventKey(4));
    const three = JSON.parse((await raw.get(eventKey(3)))!);
    await raw.set(`${prefix}${AUDIT_KEYS.head(chain)}`, JSON.stringify({ seq: 3, hash: three.hash }));
    expect(await trail.verify()).toMatchObject({ ok: false, brokenAt: 4, reason: expect.stringMatching(/missing/) });
  });

  it('detects reordered events', async () => {
    const trail = await seed(6);
    const [a, b] = await raw.mget(eventKey(3), eventKey(4));
    await raw.set(eventKey(3), b!);
    await raw.set(eventKey(4), a!);
    expect(await trail.verify()).toMatchObject({ ok: false, count: 2, brokenAt: 3, reason: expect.stringMatching(/reordered/) });
  });

  it('events survive a Redis restart with append-only persistence', async () => {
    const server = await startRedis({ appendOnly: true });
    const s = createRedisStore({ redisUrl: server.url, keyPrefix: 'restart:' });
    try {
      const trail = createAuditTrail({ store: s });
      for (let i = 0; i < 5; i++) await trail.append({ type: 'staff.caseNoted', caseRef: 'K7QM-2XPD-9RTB', actor: 'staff-1' });
      await server.restart();
      let up = false;
      for (let i = 0; i < 100 && !up; i++) {
        up = await s.ping().then(() => true, () => false);
        if (!up) await new Promise((r) => setTimeout(r, 100));
      }
      expect(await trail.verify()).toEqual({ ok: true, count: 5 });
      expect((await trail.list({ caseRef: 'K7QM-2XPD-9RTB' })).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
      expect((await trail.append({ type: 'staff.caseResolved', caseRef: 'K7QM-2XPD-9RTB', actor: 'staff-1' })).seq).toBe(6);
      expect(await trail.verify()).toEqual({ ok: true, count: 6 });
    } finally {
      await s.close();
      await server.destroy();
    }
  });
});
