/**
 * Journeys write a step's state and audit its transitions together: one round trip, all or
 * nothing (AuditTrail.appendAll); transitions applied without a write are audited with the
 * journey's next write, or on their own when none comes.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryStore } from '../store/memory.js';
import type { Store } from '../store/types.js';
import { createSealer } from '../crypto/seal.js';
import { createAuditTrail } from '../audit/index.js';
import { DEFERRED_AUDIT_MS, Journeys } from './journeys.js';
import type { JourneyState } from './journey-state.js';

const secrets = { state: 'state-0123456789abcdef', nonce: 'n', codeVerifier: 'v', idpId: 'civic-id', requested: ['Cl.Cm.P2'] };

function setUp() {
  const store = createMemoryStore();
  const audit = createAuditTrail({ store });
  const seen: string[] = [];
  const journeys = new Journeys({
    store,
    sealer: createSealer(Buffer.alloc(32, 7)),
    audit,
    ttlSeconds: 3600,
    now: Date.now,
    observer: { transitioned: (_p, _n, event) => seen.push(event) },
  });
  const start = () => journeys.start({ uid: `uid-${Math.random().toString(36).slice(2)}`, clientId: 'example-council-tax', requested: ['Cl.Cm.P2'], attributes: [] });
  const types = async (journey: JourneyState) => (await audit.list({ journey: journey.ref })).map((e) => e.type);
  return { store, audit, journeys, start, types, seen };
}

/** Count the store's guarded writes (the audit's appends) and plain writes. */
function counting(store: Store) {
  const calls = { writeIf: 0, write: 0 };
  const writeIf = store.writeIf.bind(store);
  const write = store.write.bind(store);
  store.writeIf = (...args) => (calls.writeIf++, writeIf(...args));
  store.write = (...args) => (calls.write++, write(...args));
  return calls;
}

afterEach(() => vi.useRealTimers());

describe('journeys: state and audit written together', () => {
  it('a step (apply, or applyOnly then save) is one audited write', async () => {
    const { store, journeys, start, types, seen } = setUp();
    const calls = counting(store);
    const journey = await start();
    expect(calls).toEqual({ writeIf: 1, write: 0 });
    const chosen = await journeys.applyOnly(journey, [{ type: 'idpChosen', idpId: 'civic-id', upstream: secrets }]);
    expect(await types(journey)).toEqual(['journey.started']); // not yet: it goes with the write
    await journeys.save(chosen, [journeys.upstreamBinding(secrets.state, journey.uid, chosen)]);
    expect(calls).toEqual({ writeIf: 2, write: 0 });
    expect(await types(journey)).toEqual(['journey.started', 'journey.idpChosen']);
    expect((await journeys.load(journey.uid))?.name).toBe('atProvider');
    expect(await journeys.peekUpstream(secrets.state)).toBe(journey.uid);
    await journeys.apply(chosen, [{ type: 'idpFailed', reason: 'cancelled' }]);
    expect(calls).toEqual({ writeIf: 3, write: 0 });
    expect(await types(journey)).toEqual(['journey.started', 'journey.idpChosen', 'journey.idpFailed']);
    expect(seen).toEqual(['started', 'idpChosen', 'idpFailed']);
  });

  it('nothing of the step is stored when its audit fails (fail closed)', async () => {
    const { store, journeys, start, types } = setUp();
    const journey = await start();
    const chosen = await journeys.applyOnly(journey, [{ type: 'idpChosen', idpId: 'civic-id', upstream: secrets }]);
    const writeIf = store.writeIf.bind(store);
    store.writeIf = () => Promise.reject(new Error('audit outage (test)'));
    await expect(journeys.save(chosen, [journeys.upstreamBinding(secrets.state, journey.uid, chosen)])).rejects.toThrow('audit outage');
    store.writeIf = writeIf;
    expect((await journeys.load(journey.uid))?.name).toBe('choosingProvider');
    expect(await journeys.peekUpstream(secrets.state)).toBeNull();
    expect(await types(journey)).toEqual(['journey.started']);
  });

  it('transitions applied without a write are audited on their own after DEFERRED_AUDIT_MS', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { journeys, start, types, seen } = setUp();
    const journey = await start();
    await journeys.applyOnly(journey, [{ type: 'idpChosen', idpId: 'civic-id', upstream: secrets }]);
    await vi.advanceTimersByTimeAsync(DEFERRED_AUDIT_MS - 1);
    expect(await types(journey)).toEqual(['journey.started']);
    await vi.advanceTimersByTimeAsync(1);
    await vi.waitFor(async () => expect(await types(journey)).toEqual(['journey.started', 'journey.idpChosen']));
    expect(seen).toEqual(['started', 'idpChosen']);
    expect((await journeys.load(journey.uid))?.name).toBe('choosingProvider'); // never saved
  });

  it('a transition into matching is audited at once (the next step sends attributes to the service)', async () => {
    const { journeys, start, types } = setUp();
    const journey = await start();
    const chosen = await journeys.apply(journey, [{ type: 'idpChosen', idpId: 'civic-id', upstream: secrets }]);
    const identity = { internalSubject: 's', vot: 'Cl.Cm.P2', verification: {}, claims: {} };
    const consenting = await journeys.apply(chosen, [{ type: 'idpReturned', identity }]);
    const matching = await journeys.applyOnly(consenting, [{ type: 'consentGiven' }]);
    expect(matching.name).toBe('matching');
    expect(await types(journey)).toEqual(['journey.started', 'journey.idpChosen', 'journey.idpReturned', 'journey.consentGiven']);
    const done = await journeys.applyOnly(matching, [{ type: 'matched', accountRef: 'CT-1' }]);
    expect((await types(journey)).at(-1)).toBe('journey.consentGiven'); // waits for the end of the journey
    await journeys.end(done, [{ key: 'delivery:{g}', value: 'sealed', ttlSeconds: 60 }]);
    expect((await types(journey)).slice(-2)).toEqual(['journey.consentGiven', 'journey.matched']);
    expect(await journeys.load(journey.uid)).toBeUndefined();
  });
});
