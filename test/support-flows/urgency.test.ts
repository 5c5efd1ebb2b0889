/**
 * Urgency in the support console (issue 14): staff mark a case urgent with a reason chosen from a
 * short list (no free text), change the reason or unmark it; urgent cases are listed first (then
 * the oldest first) with an Urgent tag; the counts stay right; every change is confirmed on the
 * next page and audited once, with a code and no personal data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';
import { getText } from '../support/browser-client.js';
import { StaffMember } from './staff-driver.js';

const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/&#39;|&rsquo;/g, '’').replace(/&amp;/g, '&').replace(/\s+/g, ' ');
/** The queue's table rows, each as its text, in the order listed. */
const rows = (html: string) => [...html.matchAll(/<tr class="govuk-table__row">([\s\S]*?)<\/tr>/g)].map((m) => text(m[1]!)).filter((r) => /[0-9A-Z]{4}-[0-9A-Z]{4}/.test(r));
const refIn = (row: string) => /([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}(?:-[0-9A-Z])?)/.exec(row)![1]!;

describe('urgent cases in the support console', () => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation({ idps: ['civic-id'] });
  });
  afterAll(() => fed?.close());

  async function openCase(contact = '07700 900111') {
    // The federation's clock moves on between cases, so "oldest first" has an order to show.
    fed.clock.advance(60_000);
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    await citizen.failAtLevel('civic-id', 'margaret');
    await citizen.press('help');
    await citizen.press('help', { step: 'open', description: 'I have no money for the meter', contact });
    return citizen.html.match(/Your case reference is <strong>([0-9A-Z-]+)<\/strong>/)![1]!;
  }

  async function member(name: string, role: 'supervisor' | 'agent' | 'auditor') {
    const m = new StaffMember(fed.issuer);
    expect((await m.enrol((await fed.brokers[0]!.support.staff.invite(name, role)).url)).status).toBe(303);
    expect((await m.signIn()).response.status).toBe(303);
    return m;
  }

  const events = async (ref: string) => (await fed.brokers[0]!.audit.list({ caseRef: ref })).filter((e) => e.type === 'staff.urgent' || e.type === 'staff.notUrgent');

  it('marking needs a reason from the list; marked, changed and unmarked, each confirmed and audited once with a code', async () => {
    const ref = await openCase();
    const staff = await member('Sam Supervisor', 'supervisor');

    // No reason chosen: the case page again, with an error, and nothing changed or audited.
    const none = await staff.act(ref, 'urgent', {});
    expect(none.status).toBe(400);
    const noneText = text(await getText(none));
    expect(noneText).toContain('There is a problem');
    expect(noneText).toContain('Choose why the case cannot wait');
    // Anything not on the list (free text) is refused.
    const typed = await staff.act(ref, 'urgent', { reason: 'Lost job, 3 children, rent due Friday' });
    expect(typed.status).toBe(400);
    await typed.body?.cancel();
    expect(await events(ref)).toEqual([]);
    expect((await fed.brokers[0]!.support.cases.find(ref))?.urgent).toBeUndefined();

    const marked = await staff.act(ref, 'urgent', { reason: 'heating_or_food' });
    expect(marked.status).toBe(303);
    expect(marked.headers.get('location')).toBe(`/support/staff/cases/${ref}?done=urgent`);
    await marked.body?.cancel();
    const page = text((await staff.page(`/support/staff/cases/${ref}?done=urgent`)).html);
    expect(page).toContain('The case has been marked urgent.');
    expect(page).toContain('Yes: Cannot pay for heating or food (marked by Sam Supervisor,');
    expect(page).toContain('Marked urgent (Cannot pay for heating or food)');
    expect(page).toContain('Change the reason');
    expect(page).toContain('No longer urgent');

    // The same reason again changes nothing: no second audit line.
    await (await staff.act(ref, 'urgent', { reason: 'heating_or_food' })).body?.cancel();
    expect((await events(ref)).map((e) => [e.type, e.data])).toEqual([['staff.urgent', { urgency: 'heating_or_food' }]]);

    await (await staff.act(ref, 'urgent', { reason: 'housing' })).body?.cancel();
    expect((await fed.brokers[0]!.support.cases.find(ref))?.urgent?.reason).toBe('housing');
    const unmarked = await staff.act(ref, 'not-urgent');
    expect(unmarked.headers.get('location')).toBe(`/support/staff/cases/${ref}?done=not-urgent`);
    await unmarked.body?.cancel();
    const after = text((await staff.page(`/support/staff/cases/${ref}?done=not-urgent`)).html);
    expect(after).toContain('The case is no longer marked urgent.');
    expect(after).toContain('Urgent No');
    expect(after).toContain('Mark as urgent');
    expect((await fed.brokers[0]!.support.cases.find(ref))?.urgent).toBeUndefined();

    // One audit line per change, each a code: no contact details, no description, no free text.
    const trail = await events(ref);
    expect(trail.map((e) => [e.type, e.data ?? {}])).toEqual([
      ['staff.urgent', { urgency: 'heating_or_food' }],
      ['staff.urgent', { urgency: 'housing' }],
      ['staff.notUrgent', {}],
    ]);
    expect(JSON.stringify(trail)).not.toMatch(/07700|meter|Lost job/);
    // Unmarking a case that is not urgent changes nothing either.
    await (await staff.act(ref, 'not-urgent')).body?.cancel();
    expect(await events(ref)).toHaveLength(3);
  });

  it('urgent cases are listed first with an Urgent tag, then the oldest first; the counts stay right', async () => {
    const [oldest, middle, newest] = [await openCase(), await openCase(), await openCase()];
    const staff = await member('Sam Supervisor', 'supervisor');
    const before = (await staff.page('/support/staff')).html;
    const countsBefore = /Open \((\d+)\).*Resolved \((\d+)\).*All \((\d+)\)/.exec(text(before))!.slice(1).map(Number);
    const order = (html: string) => rows(html).map(refIn).filter((r) => [oldest, middle, newest].includes(r));
    expect(order(before)).toEqual([oldest, middle, newest]);

    await (await staff.act(newest, 'urgent', { reason: 'other_urgent' })).body?.cancel();
    await (await staff.act(middle, 'urgent', { reason: 'heating_or_food' })).body?.cancel();
    const listed = (await staff.page('/support/staff')).html;
    // Urgent first (the older urgent one first), then the rest oldest first.
    expect(order(listed)).toEqual([middle, newest, oldest]);
    const all = rows(listed);
    expect(all.slice(0, 2).every((r) => r.includes('Urgent'))).toBe(true);
    expect(all.slice(2).some((r) => r.includes('Urgent'))).toBe(false);
    expect(text(listed)).toContain('urgent first, then oldest first');
    // Marking changes no list's count, and says how many open cases are urgent.
    expect(/Open \((\d+)\).*Resolved \((\d+)\).*All \((\d+)\)/.exec(text(listed))!.slice(1).map(Number)).toEqual(countsBefore);
    expect(text(listed)).toContain('2 open cases are urgent');
    // A filter keeps the order and the counts of what it shows.
    const filtered = (await staff.page(`/support/staff?idp=civic-id&list=all`)).html;
    expect(order(filtered)).toEqual([middle, newest, oldest]);
    expect(text(filtered)).toContain('2 open cases are urgent');

    // Resolving ends urgency: the case leaves the urgent count, and its record keeps no mark.
    await (await staff.act(middle, 'resolve', { outcome: 'advised_other_ways' })).body?.cancel();
    expect((await fed.brokers[0]!.support.cases.find(middle))?.urgent).toBeUndefined();
    const resolved = (await staff.page('/support/staff?list=resolved')).html;
    expect(rows(resolved).find((r) => r.includes(middle))).not.toContain('Urgent');
    expect(text((await staff.page('/support/staff')).html)).toContain('1 open case is urgent');
    // In Welsh too (the console follows the language chosen).
    const cy = text((await staff.page(`/support/staff/cases/${newest}?lang=cy`)).html);
    expect(cy).toContain('Angen brys arall');
    expect(cy).toContain('Nid yw’n frys mwyach');
    await staff.page('/support/staff?lang=en');
  });

  it('a person who says on the help form that they cannot wait gets an urgent case, listed first', async () => {
    fed.clock.advance(60_000);
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    await citizen.failAtLevel('civic-id', 'margaret');
    await citizen.press('help');
    expect(text(citizen.html)).toContain('I cannot wait: I cannot pay for heating or food, or I may lose my home');
    await citizen.press('help', { step: 'open', description: 'No heating', cannot_wait: 'yes' });
    const ref = citizen.html.match(/Your case reference is <strong>([0-9A-Z-]+)<\/strong>/)![1]!;
    expect((await fed.brokers[0]!.support.cases.find(ref))?.urgent).toMatchObject({ reason: 'person_cannot_wait', by: 'citizen' });
    // Said once, in the case's opening event, as a code.
    const opened = (await fed.brokers[0]!.audit.list({ caseRef: ref })).filter((e) => e.type === 'case.opened');
    expect(opened.map((e) => e.data?.urgency)).toEqual(['person_cannot_wait']);

    const staff = await member('Sam Supervisor', 'supervisor');
    const queue = (await staff.page('/support/staff')).html;
    // Listed among the urgent cases, ahead of every case that is not urgent.
    const listed = rows(queue);
    const at = listed.findIndex((r) => r.includes(ref));
    expect(listed[at]).toContain('Urgent');
    expect(listed.slice(0, at).every((r) => r.includes('Urgent'))).toBe(true);
    const page = text((await staff.page(`/support/staff/cases/${ref}`)).html);
    expect(page).toContain('Yes: The person said they cannot wait (marked by the person,');
  });

  it('an agent marks only cases assigned to them, an auditor none; each refusal is audited', async () => {
    const ref = await openCase();
    const agent = await member('Alex Agent', 'agent');
    const auditor = await member('Ceri Auditor', 'auditor');
    for (const who of [agent, auditor]) {
      const refused = await who.act(ref, 'urgent', { reason: 'housing' });
      expect(refused.status).toBe(403);
      await refused.body?.cancel();
    }
    const denied = (await fed.brokers[0]!.audit.list({ caseRef: ref })).filter((e) => e.type === 'staff.denied');
    expect(denied.map((e) => e.data)).toEqual([
      { action: 'urgent', role: 'agent' },
      { action: 'urgent', role: 'auditor' },
    ]);
    expect(await events(ref)).toEqual([]);

    const supervisor = await member('Sam Supervisor', 'supervisor');
    const agentId = (await fed.brokers[0]!.support.staff.list()).find((p) => p.name === 'Alex Agent')!.id;
    await (await supervisor.act(ref, 'assign', { staff: agentId })).body?.cancel();
    const marked = await agent.act(ref, 'urgent', { reason: 'housing' });
    expect(marked.status).toBe(303);
    await marked.body?.cancel();
    expect((await events(ref)).map((e) => [e.type, e.actor])).toEqual([['staff.urgent', agentId]]);
  });
});
