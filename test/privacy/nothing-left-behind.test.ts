/**
 * "Nothing personal left behind" (issue 12, point 3), on a real Redis, one node and a Cluster:
 * what a citizen types into the case lookup never becomes a store key; OIDC session, grant and
 * interaction records go when the journey ends and never outlive its deadline; staff notes are
 * sealed and deleted when a case closes; open cases with no activity close after the policy's
 * period and drop the citizen's text.
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { startRedisCluster, type RedisClusterHandle } from '../support/redis-cluster.js';
import { startFederation, type Federation } from '../support/federation.js';
import { BrowserClient, getText } from '../support/browser-client.js';
import { storeScanner, type StoreScanner } from '../support/store-scan.js';
import { Citizen } from '../support/citizen.js';
import { StaffMember } from '../support-flows/staff-driver.js';

const DAY = 86_400_000;
const CONTACT = 'margaret.private@example.org';
const DESCRIPTION = 'My passport number is 925665416 and it failed';
const NOTE = 'Rang her back on 07700 900456, DOB 14/03/1958';

type Topology = { options: { redisUrl: string } | { redisCluster: { nodes: string[] } }; nodes: string[]; stop(): Promise<void> };

const topologies: Array<[string, () => Promise<Topology>]> = [
  ['one Redis node', async () => ({ options: { redisUrl: inject('redisUrl') }, nodes: [inject('redisUrl')], stop: async () => undefined })],
  [
    'a Redis Cluster',
    async () => {
      const cluster: RedisClusterHandle = await startRedisCluster({ masters: 3 });
      return { options: { redisCluster: { nodes: cluster.nodes } }, nodes: cluster.nodes, stop: () => cluster.stop() };
    },
  ],
];

describe.each(topologies)('nothing personal left behind, on %s', (_name, startTopology) => {
  let topology: Topology;
  let fed: Federation;
  let scan: StoreScanner;
  let prefix: string;
  beforeAll(async () => {
    topology = await startTopology();
    fed = await startFederation({ ...topology.options, idps: ['civic-id'] });
    scan = storeScanner(topology.nodes);
    prefix = fed.brokers[0]!.config.keyPrefix;
  }, 60_000);
  afterAll(async () => {
    await scan?.close();
    await fed?.close();
    await topology?.stop();
  });
  // Each test starts with no rate-limit counters (all lookups come from one address).
  afterEach(async () => {
    await scan.del(`${prefix}rl:`);
  });

  async function lookUp(reference: string, browser = new BrowserClient()) {
    const form = await getText(await browser.fetch(`${fed.issuer}/support/case`));
    const response = await browser.submitForm(form, `${fed.issuer}/support/case`, { formSelector: 'lookup-form', fields: { reference } });
    return { status: response.status, html: await getText(response) };
  }

  /** A citizen whose check fell short asks for help and opens a case with a description and contact details. */
  async function citizenOpensCase() {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    await citizen.failAtLevel('civic-id', 'margaret');
    await citizen.press('help');
    await citizen.press('help', { step: 'open', description: DESCRIPTION, contact: CONTACT });
    const ref = citizen.html.match(/Your case reference is <strong>([0-9A-Z-]+)<\/strong>/)![1]!;
    return { citizen, ref };
  }

  let supervisor: StaffMember | undefined;
  async function signedInSupervisor() {
    if (supervisor) return supervisor;
    const { url } = await fed.brokers[0]!.support.staff.invite('Sam Supervisor', 'supervisor');
    const member = new StaffMember(fed.issuer);
    expect((await member.enrol(url)).status).toBe(303);
    expect((await member.signIn()).response.status).toBe(303);
    return (supervisor = member);
  }

  const storeText = async () => JSON.stringify(await scan.all(prefix));

  describe('rate limits', () => {
    it('what a citizen types into the case lookup is never a store key: rate-limit keys hold a keyed hash of it', async () => {
      const typed = 'Margaret Okafor 07700 900123';
      expect((await lookUp(typed)).status).toBe(404);
      const limits = (await scan.all(`${prefix}rl:`)).map((k) => ({ ...k, key: k.key.slice(prefix.length) }));
      // One counter per client address and one per reference typed, each a 256-bit keyed hash.
      expect(limits.length).toBe(2);
      for (const { key, values, ttlMs } of limits) {
        expect(key).toMatch(/^rl:[a-z-]+:\{[A-Za-z0-9_-]{43}\}$/);
        expect(values).toEqual(['1']);
        expect(ttlMs).toBeGreaterThan(0);
      }
      // Nothing typed (as typed, or as the broker normalises it) and no client address is held anywhere.
      const everything = JSON.stringify(await scan.all(prefix));
      for (const clue of [typed, typed.toUpperCase().replace(/[^0-9A-Z]/g, ''), 'MARGARET', 'Okafor', 'OKAFOR', '900123', '127.0.0.1']) {
        expect(everything, `the store holds "${clue}"`).not.toContain(clue);
      }
    });

    it('the same text typed twice counts against the same hashed key; other text against another', async () => {
      await lookUp('ABCD-EFGH-JKMN-P');
      await lookUp('abcd efgh jkmn p');
      await lookUp('WXYZ-WXYZ-WXYZ-W');
      const counts = (await scan.all(`${prefix}rl:case-ref:`)).map((k) => k.values[0]).sort();
      expect(counts).toEqual(['1', '2']);
    });

    it('the lookup is still limited per client: the eleventh lookup in ten minutes is refused with 429', async () => {
      for (let i = 0; i < 10; i++) expect((await lookUp(`NOPE-NOPE-NOPE-${i}`)).status).toBe(404);
      const refused = await lookUp('NOPE-NOPE-NOPE-X');
      expect(refused.status).toBe(429);
    });
  });

  /** oidc-provider's records of this federation, by model (Session, Grant, Interaction, ...), with their TTLs. */
  async function oidcRecords() {
    const records = (await scan.all(`${prefix}oidc:`)).map((k) => ({ ...k, key: k.key.slice(prefix.length) }));
    const byModel = (model: string) => records.filter((r) => r.key.startsWith(`oidc:rec:${model}:`) || r.key.startsWith(`oidc:uid:${model}:`));
    return { records, byModel };
  }
  const uidOf = (citizen: Citizen) => new URL((citizen.current as { url: string }).url).pathname.split('/')[2]!;

  // Runs before any case test: until then every journey of this federation has ended.
  describe('OIDC session, grant and interaction records', () => {
    it('go when the service redeems the code: no session, interaction or code is left, and the grant lives only as long as the access token it backs', async () => {
      const citizen = new Citizen(fed);
      await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
      const uid = uidOf(citizen);
      await citizen.verifyWith('civic-id', 'margaret');
      await citizen.consent('approve');
      // Back at the service with a code: the records the token endpoint needs exist.
      const before = await oidcRecords();
      expect(before.byModel('Session').length).toBeGreaterThan(0);
      expect(before.byModel('Grant').length).toBe(1);
      expect(before.byModel('AuthorizationCode').length).toBe(1);

      const { userinfo } = await citizen.collect(); // token, then userinfo with the access token
      expect(userinfo.sub).toBeTruthy();
      const after = await oidcRecords();
      expect(after.byModel('Session')).toEqual([]);
      expect(after.byModel('Interaction')).toEqual([]);
      expect(after.byModel('AuthorizationCode')).toEqual([]);
      expect(after.records.filter((r) => r.key.includes(uid))).toEqual([]);
      // What is left is what the service holds: its access token (for userinfo) and the grant behind it, going together.
      const [token] = after.byModel('AccessToken');
      const [grant] = after.byModel('Grant');
      expect(token!.ttlMs).toBeLessThanOrEqual(600_000);
      expect(grant!.ttlMs).toBeLessThanOrEqual(token!.ttlMs + 1_000);
    });

    it('a redeemed code cannot be redeemed again', async () => {
      const citizen = new Citizen(fed);
      await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
      await citizen.verifyWith('civic-id', 'margaret');
      await citizen.consent('approve');
      await citizen.collect();
      const again = citizen.collect();
      await expect(again).rejects.toMatchObject({ error: 'invalid_grant' });
    });

    it('go when a failure is returned to the service: nothing of the journey is left', async () => {
      const citizen = new Citizen(fed);
      await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
      const uid = uidOf(citizen);
      await citizen.verifyWith('civic-id', 'margaret');
      await citizen.consent('cancel');
      const back = await citizen.press('return');
      expect((back as { url: URL }).url.searchParams.get('error')).toBe('access_denied');
      const after = await oidcRecords();
      expect(after.byModel('Session')).toEqual([]);
      expect(after.byModel('Interaction')).toEqual([]);
      expect(after.byModel('AuthorizationCode')).toEqual([]);
      expect(after.records.filter((r) => r.key.includes(uid))).toEqual([]);
      expect((await scan.all(`${prefix}journey:`)).filter((k) => k.key.includes(uid))).toEqual([]);
    });

    it('never outlive the journey: a citizen who reaches consent 80 minutes in leaves records that expire by the 90-minute deadline', async () => {
      const citizen = new Citizen(fed);
      await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
      const deadline = Date.now() + fed.brokers[0]!.policies.broker.journey.ttl_minutes * 60_000;
      // Both clocks move on 80 minutes: oidc-provider's (the process clock) and the broker's journey clock.
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 80 * 60_000 });
      try {
        fed.clock.advance(80 * 60_000);
        await citizen.verifyWith('civic-id', 'margaret');
        await citizen.consent('approve');
        const left = deadline - Date.now();
        expect(left).toBeLessThanOrEqual(10 * 60_000);
        const { records } = await oidcRecords();
        const ofJourney = records.filter((r) => /^oidc:(rec|uid):(Session|Grant|AuthorizationCode|Interaction):/.test(r.key));
        expect(ofJourney.map((r) => r.key.split(':')[2])).toEqual(expect.arrayContaining(['Session', 'Grant', 'AuthorizationCode']));
        for (const r of ofJourney) expect(r.ttlMs, r.key).toBeLessThanOrEqual(left + 2_000);
        const { userinfo } = await citizen.collect();
        expect(userinfo.sub).toBeTruthy();
        for (const r of (await oidcRecords()).records) expect(r.ttlMs, r.key).toBeLessThanOrEqual(deadline - Date.now() + 2_000);
      } finally {
        vi.useRealTimers();
      }
    });
  });

  describe('support cases', () => {
    it('staff notes are sealed in the store like contact details, and deleted with them when the case closes', async () => {
      const { ref } = await citizenOpensCase();
      const staff = await signedInSupervisor();
      expect((await staff.act(ref, 'note', { note: NOTE })).status).toBe(303);
      expect((await staff.page(`/support/staff/cases/${ref}`)).html).toContain('07700 900456');
      // Readable to staff, unreadable in the store (sealed with the case).
      const sealed = await storeText();
      for (const planted of [NOTE, '07700 900456', '14/03/1958', CONTACT, DESCRIPTION, '925665416']) expect(sealed, `the store holds "${planted}"`).not.toContain(planted);

      expect((await staff.act(ref, 'resolve', { outcome: 'advised_other_ways' })).status).toBe(303);
      const closed = await fed.brokers[0]!.support.cases.find(ref);
      expect(closed).toMatchObject({ status: 'resolved', outcome: 'advised_other_ways', notes: [] });
      expect(closed?.citizen).toBeUndefined();
      const page = (await staff.page(`/support/staff/cases/${ref}`)).html;
      for (const gone of ['07700 900456', CONTACT, DESCRIPTION]) expect(page).not.toContain(gone);
      // The trail still says a note was written, by whom and when (never its text).
      const trail = await fed.brokers[0]!.audit.list({ caseRef: ref });
      expect(trail.map((e) => e.type)).toEqual(expect.arrayContaining(['staff.note', 'staff.resolve']));
      expect(JSON.stringify(trail)).not.toContain('900456');
      // Reopening does not bring them back.
      expect((await staff.act(ref, 'reopen')).status).toBe(303);
      const reopened = await fed.brokers[0]!.support.cases.find(ref);
      expect(reopened).toMatchObject({ status: 'open', notes: [] });
      expect(reopened?.citizen).toBeUndefined();
    });

    // Moves the broker's clock on by months: keep it last.
    it('an open case with no activity closes after the policy period (90 days), drops what the citizen typed and the notes, is audited, and the status page says so', async () => {
      const staff = await signedInSupervisor();
      const { ref: quiet } = await citizenOpensCase();
      const { ref: busy } = await citizenOpensCase();
      expect((await staff.act(quiet, 'note', { note: NOTE })).status).toBe(303);
      const policyDays = fed.brokers[0]!.policies.broker.cases.inactive_close_days;
      expect(policyDays).toBe(90);
      // No open case is stored for longer than its inactive closure plus retention (not ten years).
      const retention = fed.brokers[0]!.policies.broker.cases.retention_days;
      const ttlOf = async (ref: string) => (await scan.all(`${prefix}case:{${ref}}`))[0]!.ttlMs;
      expect(await ttlOf(quiet)).toBeLessThanOrEqual((policyDays + retention + 1) * DAY);
      expect(await ttlOf(quiet)).toBeGreaterThan((policyDays + retention) * DAY);

      fed.clock.advance(60 * DAY);
      expect((await staff.act(busy, 'note', { note: 'Still waiting for the service' })).status).toBe(303);
      fed.clock.advance(29 * DAY);
      expect(await fed.brokers[0]!.support.closeInactive()).not.toContain(quiet); // 89 days: not yet
      fed.clock.advance(2 * DAY);
      const closedNow = await fed.brokers[0]!.support.closeInactive();
      expect(closedNow).toContain(quiet);
      expect(closedNow).not.toContain(busy); // 31 days since its last activity

      const quietCase = await fed.brokers[0]!.support.cases.find(quiet);
      expect(quietCase).toMatchObject({ status: 'resolved', outcome: 'closed_inactive', notes: [] });
      expect(quietCase?.citizen).toBeUndefined();
      expect((await fed.brokers[0]!.support.cases.find(busy))?.citizen).toEqual({ description: DESCRIPTION, contact: CONTACT });
      const trail = await fed.brokers[0]!.audit.list({ caseRef: quiet });
      expect(trail.find((e) => e.type === 'case.closedInactive')).toMatchObject({ actor: 'system', data: { days: 90 } });
      expect(await fed.brokers[0]!.support.closeInactive()).toEqual([]); // once only

      const status = await lookUp(quiet);
      expect(status.html).toContain('We closed this case because nothing happened on it for 90 days');
      expect(status.html).toContain('have been deleted');
      expect((await lookUp(busy)).html).toContain('If nothing happens on this case for 90 days, we will close it');
      const welsh = new BrowserClient();
      const form = await getText(await welsh.fetch(`${fed.issuer}/support/case?lang=cy`));
      const answer = await getText(await welsh.submitForm(form, `${fed.issuer}/support/case`, { formSelector: 'lookup-form', fields: { reference: quiet } }));
      expect(answer).toContain('Rydym wedi cau’r achos hwn oherwydd na ddigwyddodd dim arno am 90 diwrnod');
    });
  });
});
