import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Vector } from '@idbroker/policies';
import { setup, type Setup } from './test-setup.js';

const v = (authentication: string, confidence: string): Vector => ({ authentication, confidence });
const P2 = v('Cl.Cm', 'P2');

let s: Setup | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const summary = (offers: ReturnType<Setup['idps']['offer']>) =>
  Object.fromEntries(offers.map((o) => [o.policy.id, { offered: o.offered, available: o.available, reason: o.reason }]));

describe('offer', () => {
  it('offers only IdPs certified for one of the requested levels', async () => {
    s = await setup({ rogues: [] });
    expect(summary(s.idps.offer([P2]))).toEqual({
      'civic-id': { offered: true, available: true, reason: undefined },
      'community-vouch': { offered: false, available: false, reason: 'not_certified_for_level' },
      'swift-verify': { offered: true, available: true, reason: undefined },
    });
    expect(summary(s.idps.offer([v('Cl.Cm.Cp', 'P3')]))).toMatchObject({
      'civic-id': { offered: false, reason: 'not_certified_for_level' },
      'community-vouch': { offered: false },
      'swift-verify': { offered: true },
    });
    // Any one of several vectors will do.
    expect(s.idps.offer([P2, v('Cl', 'P1')]).every((o) => o.offered)).toBe(true);
    // Authentication matters too: community-vouch reaches P1 but only with Cl.
    expect(summary(s.idps.offer([v('Cl.Cm', 'P1')]))['community-vouch']).toMatchObject({ offered: false, reason: 'not_certified_for_level' });
  });

  it('stops offering an IdP once its certification has expired (injected clock)', async () => {
    s = await setup({ rogues: [], policyChanges: { idps: { 'civic-id': { certification_expires: '2028-03-31' } } } });
    s.clock.set(new Date('2028-03-31T23:00:00Z'));
    expect(summary(s.idps.offer([P2]))['civic-id']).toMatchObject({ offered: true, available: true });
    s.clock.set(new Date('2028-04-01T00:00:01Z'));
    expect(summary(s.idps.offer([P2]))['civic-id']).toEqual({ offered: false, available: false, reason: 'certification_expired' });
    await expect(s.idps.beginAuthorization('civic-id', { requested: [P2], attributes: [] })).rejects.toMatchObject({ reason: 'level_not_met' });
  });

  it('does not offer a suspended IdP', async () => {
    s = await setup({ rogues: [], policyChanges: { idps: { 'swift-verify': { status: 'suspended' } } } });
    expect(summary(s.idps.offer([P2]))['swift-verify']).toEqual({ offered: false, available: false, reason: 'suspended' });
    expect(summary(s.idps.offer([P2]))['civic-id']).toMatchObject({ offered: true });
  });
});

describe('health and the circuit breaker', () => {
  it('lists an IdP that fails its health checks as unavailable, then recovers after openForMs and one good probe', async () => {
    s = await setup({ upstream: { health: { failuresToOpen: 2, openForMs: 30_000, timeoutMs: 1_000 } } });
    const rogue = s.rogues['civic-id']!;
    const probes = () => rogue.requests.filter((r) => r.endpoint === 'discovery').length;
    rogue.setMode('error');
    await s.idps.checkHealth('civic-id');
    expect(summary(s.idps.offer([P2]))['civic-id']).toMatchObject({ offered: true, available: true }); // one failure is not enough
    await s.idps.checkHealth('civic-id');
    expect(summary(s.idps.offer([P2]))['civic-id']).toEqual({ offered: true, available: false, reason: 'unavailable' });
    expect(s.idps.healthOf('civic-id').state).toBe('open');

    // While open: no probes, still unavailable, and no citizen is sent there.
    rogue.setMode('ok');
    const before = probes();
    s.clock.advance(29_000);
    await s.idps.checkHealth('civic-id');
    expect(probes()).toBe(before);
    expect(summary(s.idps.offer([P2]))['civic-id']).toMatchObject({ available: false, reason: 'unavailable' });
    await expect(s.idps.beginAuthorization('civic-id', { requested: [P2], attributes: [] })).rejects.toMatchObject({ reason: 'provider_failed' });
    expect(probes()).toBe(before);

    // After openForMs: half-open; one good probe closes the circuit.
    s.clock.advance(1_000);
    expect(s.idps.healthOf('civic-id').state).toBe('half-open');
    await s.idps.checkHealth('civic-id');
    expect(probes()).toBe(before + 1);
    expect(s.idps.healthOf('civic-id')).toEqual({ state: 'closed', consecutiveFailures: 0 });
    expect(summary(s.idps.offer([P2]))['civic-id']).toEqual({ offered: true, available: true, reason: undefined });
  });

  it('re-opens at once when the half-open probe fails', async () => {
    s = await setup({ upstream: { health: { failuresToOpen: 3, openForMs: 10_000 } } });
    const rogue = s.rogues['civic-id']!;
    rogue.setMode('down');
    for (let i = 0; i < 3; i++) await s.idps.checkHealth('civic-id');
    expect(s.idps.healthOf('civic-id').state).toBe('open');
    s.clock.advance(10_000);
    await s.idps.checkHealth('civic-id');
    expect(s.idps.healthOf('civic-id').state).toBe('open');
    expect(summary(s.idps.offer([P2]))['civic-id']).toMatchObject({ available: false, reason: 'unavailable' });
  });

  it('counts a health check that times out as a failure', async () => {
    s = await setup({ upstream: { health: { failuresToOpen: 1, timeoutMs: 200 } }, rogue: { slowMs: 10_000 } });
    s.rogues['civic-id']!.setMode('slow');
    await s.idps.checkHealth('civic-id');
    expect(s.idps.healthOf('civic-id').state).toBe('open');
  });

  it('counts provider failures during authorization (5xx) and keeps other IdPs offered', async () => {
    s = await setup({ rogues: ['civic-id', 'swift-verify'], upstream: { health: { failuresToOpen: 2 } } });
    const rogue = s.rogues['civic-id']!;
    rogue.setMode('error');
    for (let i = 0; i < 2; i++) {
      await expect(s.idps.beginAuthorization('civic-id', { requested: [P2], attributes: [] })).rejects.toMatchObject({ reason: 'provider_failed' });
    }
    const offers = summary(s.idps.offer([P2]));
    expect(offers['civic-id']).toEqual({ offered: true, available: false, reason: 'unavailable' });
    expect(offers['swift-verify']).toMatchObject({ offered: true, available: true });
  });

  it('a refused code (a security failure, not an outage) does not open the circuit', async () => {
    s = await setup({ upstream: { health: { failuresToOpen: 1 } } });
    const rogue = s.rogues['civic-id']!;
    const begun = await s.idps.beginAuthorization('civic-id', { requested: [P2], attributes: [] });
    const callback = await rogue.authorize(begun.url);
    await s.idps.completeAuthorization('civic-id', callback, begun.secrets);
    await expect(s.idps.completeAuthorization('civic-id', callback, begun.secrets)).rejects.toMatchObject({ reason: 'invalid_response' });
    expect(s.idps.healthOf('civic-id').state).toBe('closed');
  });

  it('start() runs health rounds in the background until close()', async () => {
    s = await setup({ upstream: { health: { intervalMs: 20 } } });
    const rogue = s.rogues['civic-id']!;
    s.idps.start();
    await vi.waitFor(() => expect(rogue.requests.filter((r) => r.endpoint === 'discovery').length).toBeGreaterThanOrEqual(2), { timeout: 5_000 });
    await s.idps.close();
    expect(s.idps.healthOf('civic-id').state).toBe('closed');
  });
});
