/**
 * The support console built for the work (issue 14): find a case by the reference a person reads
 * out, lists with counts, plain words, an outcome chosen on purpose and confirmed with what closing
 * deletes, success messages, views audited without flooding the timeline, and the person told in
 * words what was done and what to do next.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';
import { BrowserClient, getText } from '../support/browser-client.js';
import { StaffMember } from './staff-driver.js';

const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/&#39;|&rsquo;/g, '’').replace(/&amp;/g, '&').replace(/\s+/g, ' ');

describe('the support console', () => {
  let fed: Federation;
  let base: string;
  beforeAll(async () => {
    fed = await startFederation({ idps: ['civic-id'] });
    base = fed.issuer;
  });
  afterAll(() => fed?.close());

  async function openCase(contact = '07700 900111') {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    await citizen.failAtLevel('civic-id', 'margaret');
    await citizen.press('help');
    await citizen.press('help', { step: 'open', description: 'My passport is new', contact });
    return citizen.html.match(/Your case reference is <strong>([0-9A-Z-]+)<\/strong>/)![1]!;
  }

  async function supervisor() {
    const member = new StaffMember(base);
    expect((await member.enrol((await fed.brokers[0]!.support.staff.invite('Sam Supervisor', 'supervisor')).url)).status).toBe(303);
    expect((await member.signIn()).response.status).toBe(303);
    return member;
  }

  it('finds a case by the reference the person reads out (any case, spaces), and says so when there is none', async () => {
    const ref = await openCase();
    const staff = await supervisor();
    const typed = ref.toLowerCase().replace(/-/g, ' ');
    const found = await staff.browser.fetch(new URL(`/support/staff?ref=${encodeURIComponent(typed)}`, base));
    expect(found.status).toBe(303);
    expect(found.headers.get('location')).toBe(`/support/staff/cases/${ref}`);
    await found.body?.cancel();
    const missing = await staff.page('/support/staff?ref=AAAA-BBBB-CCCC-D');
    expect(missing.status).toBe(200);
    expect(text(missing.html)).toContain('There is no case with that reference that you can see');
  });

  it('lists open, resolved and all cases with their counts, in plain words', async () => {
    const staff = await supervisor();
    const page = text((await staff.page('/support/staff')).html);
    const counts = /Open \((\d+)\).*Resolved \((\d+)\).*All \((\d+)\)/.exec(page);
    expect(counts).not.toBeNull();
    expect(Number(counts![1]) + Number(counts![2])).toBe(Number(counts![3]));
    expect(page).toContain('Identity not checked thoroughly enough');
    expect(page).not.toContain('level_not_met');
    expect(page).not.toMatch(/\b1 cases\b/);
  });

  it('filters by why the journey failed, chosen in words (the reason codes stay out of sight)', async () => {
    const ref = await openCase();
    const staff = await supervisor();
    const page = (await staff.page('/support/staff')).html;
    const select = /<select[^>]*name="reason"[^>]*>([\s\S]*?)<\/select>/.exec(page);
    expect(select).not.toBeNull();
    expect(text(select![1]!)).toContain('Not found in the service’s records');
    expect(select![1]).toMatch(/<option value="level_not_met"[^>]*>\s*Identity not checked thoroughly enough\s*<\/option>/);
    expect(text(page)).toContain('Why it failed');
    expect(page).not.toMatch(/<input[^>]*name="reason"/);
    const levelCases = (await staff.page('/support/staff?reason=level_not_met')).html;
    expect(levelCases).toContain(ref);
    expect(levelCases).toMatch(/<option value="level_not_met" selected/);
    expect((await staff.page('/support/staff?reason=no_match')).html).not.toContain(ref);
  });

  it('resolving: no outcome chosen is an error; the chosen one is confirmed on a page saying what closing deletes; then a success message', async () => {
    const ref = await openCase();
    const staff = await supervisor();
    const none = await staff.act(ref, 'resolve', { confirm: 'no' });
    expect(none.status).toBe(400);
    expect(text(await getText(none))).toContain('Choose the outcome of the case');
    const confirm = await staff.act(ref, 'resolve', { outcome: 'verified_another_way', confirm: 'no' });
    expect(confirm.status).toBe(200);
    const words = text(await getText(confirm));
    expect(words).toContain(`Resolve case ${ref}?`);
    expect(words).toContain('what the person told us');
    expect(words).toContain('their contact details');
    // Nothing has happened yet.
    expect((await fed.brokers[0]!.support.cases.find(ref))?.status).not.toBe('resolved');
    const done = await staff.act(ref, 'resolve', { outcome: 'verified_another_way' });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe(`/support/staff/cases/${ref}?done=resolve`);
    await done.body?.cancel();
    const after = text((await staff.page(`/support/staff/cases/${ref}?done=resolve`)).html);
    expect(after).toContain('The case has been resolved.');
    expect(after).toContain('Verified another way');
    expect(after).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:/);

    // The person sees what was done and what to do next, in words.
    const browser = new BrowserClient();
    const form = await getText(await browser.fetch(`${base}/support/case`));
    const status = text(await getText(await browser.submitForm(form, `${base}/support/case`, { formSelector: 'lookup-form', fields: { reference: ref } })));
    expect(status).toContain('We confirmed who you are another way.');
    expect(status).toContain('You can now go back to Pay your council tax (Example Borough Council) and carry on.');
  });

  it('looking at a case again and again is audited once, not on every view', async () => {
    const ref = await openCase();
    const staff = await supervisor();
    for (let i = 0; i < 3; i++) expect((await staff.page(`/support/staff/cases/${ref}`)).status).toBe(200);
    await staff.act(ref, 'note', { note: 'Called back' });
    expect((await staff.page(`/support/staff/cases/${ref}?done=note`)).status).toBe(200);
    const views = (await fed.brokers[0]!.audit.list({ caseRef: ref })).filter((e) => e.type === 'staff.viewedCase');
    expect(views).toHaveLength(1);
  });
});
