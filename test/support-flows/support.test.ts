/**
 * Support and disputes over HTTP: a citizen whose journey failed opens a case and follows it;
 * staff, signed in with passkeys, find it, escalate and resolve it; roles are enforced and
 * every staff action is audited; nothing about the person is readable in the store.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../support/redis.js';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';
import { BrowserClient, getText } from '../support/browser-client.js';
import { auditOutage } from '../support/audit-outage.js';
import { optionsIn, StaffMember } from './staff-driver.js';

const run = promisify(execFile);
const CONTACT = 'margaret.contact@example.org';
const DESCRIPTION = 'I could not get past the last step';

describe('support and disputes', () => {
  let redis: RedisServer;
  let raw: Redis;
  let fed: Federation;
  let base: string;
  beforeAll(async () => {
    redis = await startRedis({ appendOnly: true });
    raw = new Redis(redis.url);
    fed = await startFederation({ redisUrl: redis.url, idps: ['civic-id'] });
    base = fed.issuer;
  });
  afterAll(async () => {
    raw?.disconnect();
    await fed?.close();
    await redis?.destroy();
  });

  /** A citizen whose identity could not be checked thoroughly enough asks for help and opens a case. */
  async function citizenOpensCase(contact = CONTACT) {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    await citizen.failAtLevel('civic-id', 'margaret');
    expect(citizen.html).toContain('Get help with this');
    await citizen.press('help');
    expect(citizen.html).toContain('Open a case');
    await citizen.press('help', { step: 'open', description: DESCRIPTION, contact });
    const ref = citizen.html.match(/Your case reference is <strong>([0-9A-Z-]+)<\/strong>/)![1]!;
    return { citizen, ref };
  }

  async function lookUp(reference: string, browser = new BrowserClient()) {
    const form = await getText(await browser.fetch(`${base}/support/case`));
    const response = await browser.submitForm(form, `${base}/support/case`, { formSelector: 'lookup-form', fields: { reference } });
    return { status: response.status, html: await getText(response) };
  }

  async function staffWithRole(role: 'agent' | 'supervisor' | 'auditor', name = `Test ${role}`) {
    const { url } = await fed.brokers[0]!.support.staff.invite(name, role);
    const member = new StaffMember(base);
    expect((await member.enrol(url)).status).toBe(303);
    expect((await member.signIn()).response.status).toBe(303);
    return member;
  }

  /** The audit trail's last sequence number (nothing is pruned here), and the events after one. */
  const lastSeq = async () => (await fed.brokers[0]!.audit.verify()).count;
  const eventsAfter = async (seq: number) => fed.brokers[0]!.audit.list({ from: seq + 1, limit: 1000 });

  /** A signed-in staff member's id (from their session). */
  async function idOf(member: StaffMember) {
    return (await fed.brokers[0]!.support.staff.session(member.sessionId))!.account.id;
  }

  it('a citizen opens a case from the failure page; the service gets the case reference; the status page shows it', async () => {
    const { citizen, ref } = await citizenOpensCase();
    expect(ref).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]$/);
    const back = await citizen.press('return');
    const url = (back as { url: URL }).url;
    expect(url.searchParams.get('case_ref')).toBe(ref);
    expect(url.searchParams.get('error_reason')).toBe('level_not_met');
    // One reference: the case took the journey's, which the service also has as txn.
    expect(url.searchParams.get('txn')).toBe(ref);
    const found = await lookUp(ref.toLowerCase().replace(/-/g, ' '));
    expect(found.status).toBe(200);
    expect(found.html).toContain(`Case ${ref}`);
    expect(found.html).toContain('Open');
  });

  it('a wrong reference reveals nothing: malformed, unknown and check-failing references get the same answer', async () => {
    const { ref } = await citizenOpensCase();
    const flipped = ref.slice(0, -1) + (ref.endsWith('0') ? '1' : '0');
    const answers = await Promise.all(['nonsense', 'ZZZZ-ZZZZ-ZZZZ-Z', flipped].map((r) => lookUp(r)));
    for (const a of answers) {
      expect(a.status).toBe(404);
      expect(a.html).toContain('We cannot find a case with that reference');
    }
    // Only the per-response tokens (CSRF, CSP nonce) and the echo of what was typed may differ.
    const strip = (h: string) => h.replace(/nonce="[^"]+"/g, '').replace(/value="[^"]*"/g, '');
    expect(new Set(answers.map((a) => strip(a.html))).size).toBe(1);
  });

  it('contact details are unreadable in the store, and no case record holds a verified attribute value', async () => {
    await citizenOpensCase();
    const keys = await raw.keys('*case:*');
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      if ((await raw.type(key)) !== 'string') continue;
      const value = (await raw.get(key))!;
      for (const planted of [CONTACT, DESCRIPTION, 'Margaret', 'Okafor', '1958-03-14', 'EX1 2AB']) expect(value).not.toContain(planted);
    }
    const cases = await fed.brokers[0]!.support.cases.queue();
    const text = JSON.stringify(cases);
    expect(text).toContain(CONTACT); // readable to the broker (and so to staff) until the case closes
    for (const attribute of ['Okafor', '1958-03-14', 'EX1 2AB', '12 Station Road']) expect(text).not.toContain(attribute);
  });

  it('staff invited from the command line enrol a passkey, sign in, find the case, escalate and resolve it; the citizen sees it resolved; contact details are gone', async () => {
    const { ref } = await citizenOpensCase();
    const env = { ...process.env, BROKER_ISSUER: base, BROKER_SECRET: fed.brokers[0]!.config.secret, REDIS_URL: redis.url, REDIS_KEY_PREFIX: fed.brokers[0]!.config.keyPrefix };
    const { stdout } = await run('npx', ['tsx', '--conditions=@idbroker/source', 'broker/scripts/staff.ts', 'invite', '--name', 'Sam Supervisor', '--role', 'supervisor'], { env, cwd: new URL('../..', import.meta.url).pathname });
    const link = stdout.match(/https?:\/\/\S+\/support\/staff\/enrol\/\S+/)![0]!;
    const staff = new StaffMember(base);
    expect((await staff.enrol(link)).status).toBe(303);
    expect((await staff.browser.fetch(new URL(new URL(link).pathname, base))).status).toBe(404); // single use
    expect((await staff.signIn()).response.status).toBe(303);
    const queue = await staff.page('/support/staff');
    expect(queue.html).toContain(ref);
    const casePage = await staff.page(`/support/staff/cases/${ref}`);
    expect(casePage.html).toContain(CONTACT);
    // The timeline in plain words, not event codes.
    expect(casePage.html).toContain('Case opened by the person');
    expect(casePage.html).not.toContain('journey.idpFailed');
    expect((await staff.act(ref, 'escalate', { to: 'service', whom: 'Council tax digital team, ticket 4411' })).status).toBe(303);
    expect((await lookUp(ref)).html).toContain('Passed to the organisation that can fix it');
    expect((await staff.act(ref, 'resolve', { outcome: 'advised_other_ways' })).status).toBe(303);
    const status = await lookUp(ref);
    expect(status.html).toContain('Resolved');
    const closed = await fed.brokers[0]!.support.cases.find(ref);
    expect(closed?.citizen).toBeUndefined();
    const trail = await fed.brokers[0]!.audit.list({ caseRef: ref });
    expect(trail.map((e) => e.type)).toEqual(expect.arrayContaining(['case.opened', 'staff.viewedCase', 'staff.escalate', 'staff.resolve']));
    expect(JSON.stringify(trail)).not.toContain(CONTACT);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/broker_cases_opened_total\{service="example-council-tax"\} [1-9]/);
    expect(metrics).toMatch(/broker_cases_resolved_total\{outcome="advised_other_ways"\} 1/);
    expect(metrics).not.toContain(CONTACT);
  }, 90_000); // it starts the staff command line (tsx) and a passkey ceremony: 21 s alone, over 30 s with the suite on two busy cores

  it('the status page and the staff console are in Welsh too', async () => {
    const { ref } = await citizenOpensCase();
    const browser = new BrowserClient();
    const form = await getText(await browser.fetch(`${base}/support/case?lang=cy`));
    expect(form).toContain('Gwirio eich achos cymorth');
    const answer = await getText(await browser.submitForm(form, `${base}/support/case`, { formSelector: 'lookup-form', fields: { reference: ref } }));
    expect(answer).toContain('lang="cy"');
    expect(answer).toContain('Ar agor');
    const supervisor = await staffWithRole('supervisor', 'Welsh Reader');
    for (const path of ['/support/staff?lang=cy', `/support/staff/cases/${ref}`, '/support/staff/sign-in']) {
      const page = await supervisor.page(path);
      expect(page.status, path).toBe(200);
      expect(page.html, path).toContain('lang="cy"');
    }
  });

  it('each role: every action it may not take answers 403 and is audited', async () => {
    const { ref } = await citizenOpensCase();
    const agent = await staffWithRole('agent');
    const otherAgent = await staffWithRole('agent', 'Other agent');
    const auditor = await staffWithRole('auditor');
    const supervisor = await staffWithRole('supervisor');
    const openCase = async (who: StaffMember) => (await who.page(`/support/staff/cases/${ref}`)).status;

    // Supervisors and auditors see every case; an agent sees only the cases assigned to them.
    for (const who of [supervisor, auditor]) {
      expect((await who.page('/support/staff')).html).toContain(ref);
      expect(await openCase(who)).toBe(200);
    }
    for (const who of [agent, otherAgent]) expect((await who.page('/support/staff')).html).not.toContain(ref);

    const refusals: Array<[StaffMember, string, Record<string, string>]> = [
      [agent, 'view', {}], // not assigned to them
      [agent, 'note', { note: 'x' }],
      [agent, 'escalate', { to: 'idp', whom: 'x' }],
      [agent, 'resolve', { outcome: 'duplicate' }],
      [agent, 'assign', { staff: 'x' }],
      [agent, 'reopen', {}],
      [auditor, 'note', { note: 'x' }],
      [auditor, 'escalate', { to: 'idp', whom: 'x' }],
      [auditor, 'resolve', { outcome: 'duplicate' }],
      [auditor, 'assign', { staff: 'x' }],
      [auditor, 'reopen', {}],
    ];
    for (const [who, action, fields] of refusals) expect(action === 'view' ? await openCase(who) : (await who.act(ref, action, fields)).status, action).toBe(403);
    expect((await agent.page('/support/staff/audit')).status).toBe(403);
    expect((await supervisor.page('/support/staff/audit')).status).toBe(403);
    const deniedOn = async () => (await fed.brokers[0]!.audit.list({ caseRef: ref })).filter((e) => e.type === 'staff.denied');
    const denied = await deniedOn();
    expect(denied.map((e) => e.data?.action)).toEqual(refusals.map(([, a]) => a));
    expect(denied[0]).toMatchObject({ actor: await idOf(agent), data: { action: 'view', role: 'agent' } });

    // Once a supervisor assigns the case to the agent, the agent sees it and may work it; the other agent still may not see it.
    // The supervisor picks the agent by name from the enrolled staff (auditors cannot take cases).
    const before = (await supervisor.page(`/support/staff/cases/${ref}`)).html;
    const options = [...before.matchAll(/<option value="([^"]+)"[^>]*>\s*([^<]+?)\s*<\/option>/g)].map((m) => [m[1], m[2]]);
    expect(options).toEqual(expect.arrayContaining([[await idOf(agent), 'Test agent (agent)'], [await idOf(otherAgent), 'Other agent (agent)'], [await idOf(supervisor), 'Test supervisor (supervisor)']]));
    expect(options.map(([, label]) => label)).not.toContain('Test auditor (auditor)');
    expect((await supervisor.act(ref, 'assign', { staff: await idOf(agent) })).status).toBe(303);
    const after = (await supervisor.page(`/support/staff/cases/${ref}`)).html;
    expect(after).toMatch(new RegExp(`<option value="${await idOf(agent)}" selected>`));
    expect(after).toMatch(/Assigned to\s*<\/dt>\s*<dd class="govuk-summary-list__value">\s*Test agent/);
    expect((await agent.page('/support/staff')).html).toContain(ref);
    expect(await openCase(agent)).toBe(200);
    expect((await otherAgent.page('/support/staff')).html).not.toContain(ref);
    expect(await openCase(otherAgent)).toBe(403);
    expect((await otherAgent.act(ref, 'note', { note: 'x' })).status).toBe(403);
    expect((await deniedOn()).slice(refusals.length)).toMatchObject([
      { actor: await idOf(otherAgent), data: { action: 'view', role: 'agent' } },
      { actor: await idOf(otherAgent), data: { action: 'note', role: 'agent' } },
    ]);
    expect((await agent.act(ref, 'note', { note: 'Called the council' })).status).toBe(303);
    expect((await agent.act(ref, 'resolve', { outcome: 'matched_by_service' })).status).toBe(303);
    expect((await agent.act(ref, 'reopen')).status).toBe(403);
    expect((await supervisor.act(ref, 'reopen')).status).toBe(303);
    expect((await auditor.page('/support/staff/audit')).html).toContain('The audit trail is intact');
  });

  it('staff sign-in fails without a registered passkey, with a wrong origin, or with a replayed challenge', async () => {
    const start = await lastSeq();
    const stranger = new StaffMember(base);
    stranger.authenticator.register({ challenge: 'AAAA', rp: { id: new URL(base).hostname, name: 'x' }, user: { id: 'AAAA', name: 'x', displayName: 'x' }, pubKeyCredParams: [{ type: 'public-key', alg: -7 }] } as never, base);
    expect((await stranger.signIn()).response.status).toBe(401);

    const agent = await staffWithRole('agent', 'Origin Tester');
    const other = new StaffMember(base);
    Object.assign(other, { authenticator: agent.authenticator });
    expect((await other.signIn({ origin: 'https://evil.example' })).response.status).toBe(401);

    const first = await other.signIn();
    expect(first.response.status).toBe(303);
    const replay = new StaffMember(base);
    expect((await replay.signIn({ replay: first.sent })).response.status).toBe(401);
    const failures = (await eventsAfter(start)).filter((e) => e.type === 'staff.signInFailed');
    expect(failures.map((e) => e.data?.why)).toEqual(['unknown_passkey', 'not_verified', 'expired']);
  });

  it('login CSRF: a valid sign-in response posted from another browser is refused and audited; so is an enrolment response', async () => {
    const mallory = await staffWithRole('agent', 'Mallory');
    const start = await lastSeq();

    // Mallory signs a challenge her own browser was given and has the victim's browser post it:
    // once from the sign-in page the victim has open (the victim's own ceremony cookie), and once
    // as a cross-site form post (a SameSite=Strict cookie is not sent: no cookie at all).
    const victim = new StaffMember(base);
    const fromVictimsPage = await victim.signIn({ replay: await mallory.signedResponse() });
    expect(fromVictimsPage.response.status).toBe(401);
    expect(await getText(fromVictimsPage.response)).toContain('Your passkey could not be used to sign in');
    const crossSite = new StaffMember(base);
    const posted = await crossSite.browser.fetch(new URL('/support/staff/sign-in', base), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ response: await mallory.signedResponse() }).toString(),
    });
    expect(posted.status).toBe(401);
    for (const browser of [victim, crossSite]) {
      expect(browser.sessionId).toBeUndefined();
      expect((await browser.page('/support/staff')).status).toBe(303); // still not signed in
    }
    const failures = (await eventsAfter(start)).filter((e) => e.type === 'staff.signInFailed');
    expect(failures.map((e) => e.data?.why)).toEqual(['other_browser', 'other_browser']);
    // In her own browser the same kind of response works.
    expect((await mallory.signIn()).response.status).toBe(303);

    // Enrolment: a registration made in one browser and posted from another is refused; the link still works.
    const { url } = await fed.brokers[0]!.support.staff.invite('Enrol Victim', 'agent');
    const enrolPath = new URL(new URL(url).pathname, base);
    const elsewhere = new StaffMember(base);
    const page = await getText(await elsewhere.browser.fetch(enrolPath)); // the victim has the enrolment page open
    const attacker = new StaffMember(base);
    const registration = attacker.authenticator.register(optionsIn(await getText(await attacker.browser.fetch(enrolPath))), base);
    expect((await elsewhere.browser.submitForm(page, enrolPath, { formSelector: 'passkey-form', fields: { response: JSON.stringify(registration) } })).status).toBe(400);
    expect((await eventsAfter(start)).filter((e) => e.type === 'staff.enrolRefused').map((e) => e.data)).toEqual([{ why: 'other_browser' }]);
    expect((await elsewhere.enrol(url)).status).toBe(303);
    expect((await elsewhere.signIn()).response.status).toBe(303);
  });

  it('audit before effect: while audit events cannot be written, staff actions, case pages and sign-in do not take effect', async () => {
    const broker = fed.brokers[0]!;
    const { ref } = await citizenOpensCase();
    const supervisor = await staffWithRole('supervisor', 'Outage Supervisor');
    const late = new StaffMember(base);
    expect((await late.enrol((await broker.support.staff.invite('Late Starter', 'agent')).url)).status).toBe(303);
    const citizen = new Citizen(fed); // a citizen about to open a case when the outage starts
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    await citizen.failAtLevel('civic-id', 'margaret');
    await citizen.press('help');
    const before = await broker.support.cases.find(ref);
    const casesBefore = (await raw.keys('*case:{*')).length;
    const sessionsBefore = (await raw.keys('*staff-session:*')).length;
    const eventsBefore = (await broker.audit.verify()).count;

    const outage = auditOutage(broker.store);
    try {
      const actions: Array<[string, Record<string, string>]> = [
        ['note', { note: 'Called the council' }],
        ['escalate', { to: 'service', whom: 'Council tax team' }],
        ['assign', { staff: await idOf(supervisor) }],
        ['resolve', { outcome: 'duplicate' }],
      ];
      for (const [action, fields] of actions) {
        const response = await supervisor.act(ref, action, fields);
        expect(response.status, action).toBe(503);
        expect(await getText(response), action).toContain('could not be recorded in the audit trail, so it has not been carried out. The case has not changed.');
      }
      expect(await broker.support.cases.find(ref)).toEqual(before); // no note, no escalation, not assigned, not resolved, contact kept
      const casePage = await supervisor.page(`/support/staff/cases/${ref}`);
      expect(casePage.status).toBe(503);
      expect(casePage.html).not.toContain(CONTACT);

      const signIn = await late.signIn();
      expect(signIn.response.status).toBe(503);
      expect(await getText(signIn.response)).toContain('so you have not been signed in');
      expect(late.sessionId).toBeUndefined();
      expect((await raw.keys('*staff-session:*')).length).toBe(sessionsBefore);

      // The citizen's journey fails closed too: no case is opened without its audit event.
      expect(await citizen.press('help', { step: 'open', description: DESCRIPTION })).toMatchObject({ kind: 'page', status: 500 });
      expect((await raw.keys('*case:{*')).length).toBe(casesBefore);
      expect(outage.refused).toBeGreaterThanOrEqual(actions.length + 3);
    } finally {
      outage.end();
    }
    expect((await broker.audit.verify())).toEqual({ ok: true, count: eventsBefore });

    // With the audit trail back, the same steps work and are recorded.
    expect((await supervisor.act(ref, 'note', { note: 'Called the council' })).status).toBe(303);
    expect((await late.signIn()).response.status).toBe(303);
    expect((await broker.support.cases.find(ref))?.notes).toHaveLength(1);
    expect((await broker.audit.list({ caseRef: ref })).map((e) => e.type)).toContain('staff.note');
  });

  it('editing an audit event is detected on the auditor page', async () => {
    const auditor = await staffWithRole('auditor', 'Chain Checker');
    const prefix = fed.brokers[0]!.config.keyPrefix;
    const key = (await raw.keys(`${prefix}audit:*:event:*`)).sort()[0]!;
    const original = (await raw.get(key))!;
    await raw.set(key, original.replace('"journey.started"', '"journey.tampered"'), 'KEEPTTL');
    try {
      const page = await auditor.page('/support/staff/audit');
      expect(page.html).toContain('The audit trail is broken at event');
    } finally {
      await raw.set(key, original, 'KEEPTTL');
    }
  });

  it('closed cases are purged after the retention period, by a job safe to run on every instance', async () => {
    const { ref } = await citizenOpensCase();
    const support = fed.brokers[0]!.support;
    await support.cases.resolve(ref, 'duplicate', 'test');
    expect(await support.purgeExpired()).toBe(0);
    fed.clock.advance((fed.brokers[0]!.policies.broker.cases.retention_days + 1) * 86_400_000);
    const [a, b] = await Promise.all([support.purgeExpired(), support.purgeExpired()]);
    expect(a + b).toBeGreaterThanOrEqual(1);
    expect(await support.cases.find(ref)).toBeUndefined();
  });

  it('cases and the audit trail survive a Redis restart with append-only persistence', async () => {
    const { ref } = await citizenOpensCase();
    await redis.restart();
    let found;
    for (let i = 0; i < 50 && !found; i++) {
      found = await fed.brokers[0]!.support.cases.find(ref).catch(() => undefined);
      if (!found) await new Promise((r) => setTimeout(r, 100));
    }
    expect(found?.ref).toBe(ref);
    expect(await fed.brokers[0]!.audit.verify()).toMatchObject({ ok: true });
    expect((await fed.brokers[0]!.audit.list({ caseRef: ref })).map((e) => e.type)).toContain('case.opened');
  });
  it('guessing references is rate-limited', async () => {
    const browser = new BrowserClient();
    // Earlier tests in this file have used some of this address's lookups already.
    const { ref } = await citizenOpensCase();
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await lookUp(`AAAA-BBBB-CC${String(i).padStart(2, '0')}-X`, browser)).status);
    const firstRefusal = statuses.indexOf(429);
    expect(firstRefusal).toBeGreaterThanOrEqual(0);
    expect(firstRefusal).toBeLessThanOrEqual(10);
    expect(statuses.slice(firstRefusal).every((s) => s === 429)).toBe(true);
    // While limited, even a right reference is refused: the limit is no oracle.
    expect((await lookUp(ref, browser)).status).toBe(429);
  });

});
