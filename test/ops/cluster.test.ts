/**
 * Scale out on a real Redis Cluster (three masters from redis-server processes): whole
 * journeys, with two broker instances taking the citizen's requests in turn, and the audit
 * trail's chain intact across the slots.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, type RedisClusterHandle } from '../support/redis-cluster.js';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';
import { StaffMember } from '../support-flows/staff-driver.js';

describe('whole journeys on a Redis Cluster with two broker instances', () => {
  let cluster: RedisClusterHandle;
  let fed: Federation;
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
    fed = await startFederation({ redisCluster: { nodes: cluster.nodes }, brokers: 2, idps: ['civic-id', 'swift-verify'] });
  }, 60_000);
  afterAll(async () => {
    await fed?.close();
    await cluster?.stop();
  });

  it('journeys complete while requests alternate between the instances', async () => {
    const subjects: unknown[] = [];
    for (const [idp, user] of [['civic-id', 'margaret'], ['swift-verify', 'dylan'], ['civic-id', 'margaret']] as const) {
      const citizen = new Citizen(fed, { alternate: true });
      await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
      await citizen.verifyWith(idp, user);
      await citizen.consent('approve');
      const { claims } = await citizen.collect();
      expect(claims.vot).toBe('Cl.Cm.P2');
      subjects.push(claims.sub);
    }
    expect(subjects[0]).toBe(subjects[2]);
    expect(subjects[0]).not.toBe(subjects[1]);
  });

  it('the support path: a case opened through one instance is found and resolved by staff through the other', async () => {
    const citizen = new Citizen(fed, { alternate: true });
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    await citizen.failAtLevel('civic-id', 'priya');
    await citizen.press('help');
    await citizen.press('help', { step: 'open', contact: '07700 900999' });
    const ref = citizen.html.match(/Your case reference is <strong>([0-9A-Z-]+)<\/strong>/)![1]!;
    const { url } = await fed.brokers[0]!.support.staff.invite('Cluster Supervisor', 'supervisor');
    const staff = new StaffMember(fed.brokerUrls[1]!, fed.issuer);
    expect((await staff.enrol(url)).status).toBe(303);
    expect((await staff.signIn()).response.status).toBe(303);
    expect((await staff.page('/support/staff')).html).toContain(ref);
    expect((await staff.act(ref, 'resolve', { outcome: 'advised_other_ways' })).status).toBe(303);
    const resolved = await fed.brokers[0]!.support.cases.find(ref);
    expect(resolved).toMatchObject({ status: 'resolved', outcome: 'advised_other_ways' });
    expect(resolved?.citizen).toBeUndefined();
  });

  it('a failed journey reaches the service with its reference, and the audit chain verifies', async () => {
    const citizen = new Citizen(fed, { alternate: true });
    // Each instance appends to its own audit chain; a journey's events from two instances are read
    // back in the order of their times, so the test's clock (which otherwise stands still) moves on
    // between the steps, as a real clock would.
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    fed.clock.advance(1000);
    const atIdp = await citizen.choose('civic-id');
    fed.clock.advance(1000);
    await citizen.signIn(atIdp, { username: 'margaret', secondFactor: 'code' });
    fed.clock.advance(1000);
    await citizen.consent('cancel');
    const back = await citizen.press('return');
    const url = (back as { url: URL }).url;
    expect(url.searchParams.get('error_reason')).toBe('cancelled');
    const events = await fed.brokers[1]!.audit.list({ journey: url.searchParams.get('txn')! });
    expect(events.map((e) => e.type)).toEqual(['journey.started', 'journey.idpChosen', 'journey.idpReturned', 'journey.consentRefused']);
    expect(await fed.brokers[0]!.audit.verify()).toMatchObject({ ok: true });
  });
});
