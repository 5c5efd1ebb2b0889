/** Operators' metrics and the public performance page count what happened, and nothing about anyone. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExampleService, type ExampleService } from '../../relying-party-sdk/examples/council-tax/app.js';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';
import { freePort } from '../support/matching-service.js';

const DAY = 86_400_000;
/** A date `days` from now, as policies write it (YYYY-MM-DD): certifications that stay valid whatever today is. */
const dateIn = (days: number) => new Date(Date.now() + days * DAY).toISOString().slice(0, 10);
/** The days the broker counts until the end of a date (its last second, UTC), at the test's clock. */
const daysLeft = (date: string, now: number) => Math.floor((Date.parse(`${date}T23:59:59Z`) - now) / DAY);

/** Every sample of a metric family, with its labels, from the Prometheus text format. */
function samples(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`))
    .map((l) => {
      const labels = Object.fromEntries([...l.slice(name.length + 1, l.lastIndexOf('}')).matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
      return { labels, value: Number(l.split(' ').at(-1)) };
    });
}

/** The value of the one sample of `name` whose labels include `labels` (0 when there is none). */
function metric(text: string, name: string, labels: Record<string, string>): number {
  const found = samples(text, name).filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value ?? 0;
}

const scrape = async (fed: Federation) => (await fetch(`${fed.issuer}/metrics`)).text();

/** Request counts of the latency histogram, by series (route, method, status). */
const latencyCounts = (text: string) =>
  new Map(samples(text, 'broker_http_request_duration_seconds_count').map((s) => [`${s.labels.method} ${s.labels.route} ${s.labels.status}`, s.value]));

describe('metrics and the performance page', () => {
  let fed: Federation;
  const expires = { 'civic-id': dateIn(90), 'community-vouch': dateIn(200) };
  beforeAll(async () => {
    fed = await startFederation({
      idps: ['civic-id', 'community-vouch'],
      // Certifications relative to today, so that this file does not start failing when the shipped ones end.
      policyChanges: {
        idps: { 'civic-id': { certification_expires: expires['civic-id'] }, 'community-vouch': { certification_expires: expires['community-vouch'] } },
        // A handful of journeys: show every figure of one (the shipped minimum is 20).
        broker: { performance: { minimum_journeys: 1, days: 7 } },
      },
    });
    const service = await fed.service();
    // Two successes through Civic ID, one level-not-met through Civic ID, one cancel at Community Vouch.
    for (const user of ['margaret', 'dylan']) {
      const c = new Citizen(fed);
      await c.start(service, { vtr: ['Cl.Cm.P2'] });
      await c.verifyWith('civic-id', user);
      await c.consent('approve');
      await c.collect();
    }
    fed.idps['civic-id']!.switches = { fail: 'lower-level', delayMs: 0 };
    const low = new Citizen(fed);
    await low.start(service, { vtr: ['Cl.Cm.P2'] });
    await low.verifyWith('civic-id', 'margaret');
    fed.idps['civic-id']!.switches = { fail: 'none', delayMs: 0 };
    const cancel = new Citizen(fed);
    await cancel.start(service, { vtr: ['Cl.P1'] });
    await cancel.verifyWith('community-vouch', 'sam', undefined);
    await cancel.consent('cancel');
  });
  afterAll(() => fed?.close());

  it('counts journeys by outcome and IdP, and by outcome and service (never IdP and service together), and matching-free sign-ins', async () => {
    const text = await scrape(fed);
    expect(metric(text, 'broker_journeys_started_total', { service: 'example-council-tax' })).toBe(4);
    expect(metric(text, 'broker_idp_journeys_finished_total', { outcome: 'signedIn', idp: 'civic-id' })).toBe(2);
    expect(metric(text, 'broker_idp_journeys_finished_total', { outcome: 'level_not_met', idp: 'civic-id' })).toBe(1);
    expect(metric(text, 'broker_idp_journeys_finished_total', { outcome: 'cancelled', idp: 'community-vouch' })).toBe(1);
    expect(metric(text, 'broker_service_journeys_finished_total', { outcome: 'signedIn', service: 'example-council-tax' })).toBe(2);
    expect(metric(text, 'broker_service_journeys_finished_total', { outcome: 'level_not_met', service: 'example-council-tax' })).toBe(1);
    expect(metric(text, 'broker_service_journeys_finished_total', { outcome: 'cancelled', service: 'example-council-tax' })).toBe(1);
    for (const name of ['broker_idp_journeys_finished_total', 'broker_service_journeys_finished_total']) {
      for (const s of samples(text, name)) expect(Object.keys(s.labels).sort()).toEqual(name.includes('_idp_') ? ['idp', 'outcome'] : ['outcome', 'service']);
    }
    // A service without matching: no matching answers at all.
    expect(samples(text, 'broker_matching_outcomes_total')).toEqual([]);
    expect(metric(text, 'broker_idp_up', { idp: 'civic-id' })).toBe(1);
    // Days left at the broker's clock, whatever today's date.
    expect(metric(text, 'broker_idp_certification_days_left', { idp: 'civic-id' })).toBe(daysLeft(expires['civic-id'], fed.clock.now()));
    expect(metric(text, 'broker_idp_certification_days_left', { idp: 'community-vouch' })).toBe(daysLeft(expires['community-vouch'], fed.clock.now()));
    expect(metric(text, 'broker_idp_certification_days_left', { idp: 'civic-id' })).toBeGreaterThanOrEqual(89);
    // Three consents answered with a redirect: two approvals and one cancel.
    expect(metric(text, 'broker_http_request_duration_seconds_count', { route: '/journey/:uid/consent', method: 'POST', status: '302' })).toBe(3);
  });

  it('holds no personal data and no per-person labels', async () => {
    const text = await scrape(fed);
    for (const value of ['Margaret', 'Okafor', '1958-03-14', 'EX1 2AB', 'Dylan', 'Taylor']) expect(text).not.toContain(value);
    // No label takes a journey reference, a subject, or an interaction id.
    expect(text).not.toMatch(/[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]/);
    expect(text).not.toMatch(/\/journey\/[A-Za-z0-9_-]{20,}/);
  });

  it('the public page shows closed days only: per IdP, failures by who caused them, as a table and a chart', async () => {
    const row = (html: string, name: string) => {
      const m = html.match(new RegExp(`${name}</th>([\\s\\S]*?)</tr>`));
      return [...m![1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => c[1]!.replace(/<[^>]+>/g, '').trim());
    };
    // Today has not ended: none of today's journeys is on the page.
    const today = await (await fetch(`${fed.issuer}/performance`)).text();
    expect(row(today, 'Civic ID')).toEqual(Array(7).fill('not shown'));
    // The day after, it is: journeys, succeeded, verified by the provider, provider, not found, person stopped, service.
    fed.clock.advance(DAY);
    const html = await (await fetch(`${fed.issuer}/performance`)).text();
    // Civic ID: two sign-ins and one level not reached (the provider's); zero counts are not shown.
    expect(row(html, 'Civic ID')).toEqual(['3', '2', '67%', '1', 'not shown', 'not shown', 'not shown']);
    // Community Vouch: one person who cancelled, not counted against the provider.
    expect(row(html, 'Community Vouch')).toEqual(['1', 'not shown', 'not shown', 'not shown', 'not shown', '1', 'not shown']);
    expect(html).toContain('<svg role="img"');
    const day = new Date(fed.clock.now() - DAY).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
    expect(html).toContain(`to ${day}`);
    // Once the window has moved past that day, it is gone again.
    fed.clock.advance(7 * DAY);
    expect(row(await (await fetch(`${fed.issuer}/performance`)).text(), 'Civic ID')).toEqual(Array(7).fill('not shown'));
  });

  it('the latency histogram counts every request the broker answered, once, under its route template', async () => {
    const before = await scrape(fed);
    // A citizen whose every request to the broker is counted here (those to the IdP are not).
    const citizen = new Citizen(fed);
    const broker = new URL(fed.issuer).host;
    const sent: string[] = [];
    const fetchOnce = citizen.browser.fetch.bind(citizen.browser);
    citizen.browser.fetch = (url, init) => {
      const u = new URL(url);
      if (u.host === broker) sent.push(`${init?.method ?? 'GET'} ${u.pathname}`);
      return fetchOnce(url, init);
    };
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    await citizen.verifyWith('civic-id', 'margaret');
    await citizen.consent('cancel');
    await citizen.press('return');
    for (let i = 0; i < 3; i++) await (await fetch(`${fed.issuer}/performance`)).text();
    const after = await scrape(fed);

    const b = latencyCounts(before);
    const a = latencyCounts(after);
    const delta = new Map([...a].map(([series, n]): [string, number] => [series, n - (b.get(series) ?? 0)]).filter(([, d]) => d !== 0));
    // start, picker, provider, IdP callback, consent page, consent, failure page, return.
    expect(sent).toHaveLength(8);
    expect([...delta.values()].reduce((s, n) => s + n, 0)).toBe(sent.length + 3);
    expect(Object.fromEntries(delta)).toMatchObject({
      'GET /journey/:uid 200': 1,
      'POST /journey/:uid/provider 303': 1,
      'GET /idp/:idpId/callback 302': 1,
      'GET /journey/:uid/consent 200': 1,
      'POST /journey/:uid/consent 302': 1,
      'GET /journey/:uid/failure 200': 1,
      'POST /journey/:uid/return 302': 1,
      'GET /performance 200': 3,
    });
    // Every series is a whole histogram: its +Inf bucket holds every request it counted.
    for (const s of samples(after, 'broker_http_request_duration_seconds_count')) {
      expect(metric(after, 'broker_http_request_duration_seconds_bucket', { ...s.labels, le: '+Inf' })).toBe(s.value);
    }
    // /metrics itself is not counted.
    expect(after).not.toContain('route="/metrics"');
  });
});

describe('matching outcomes', () => {
  let fed: Federation;
  let service: ExampleService;
  const subjects: string[] = [];
  beforeAll(async () => {
    const port = await freePort();
    fed = await startFederation({
      idps: ['civic-id'],
      matchingUrl: `http://127.0.0.1:${port}/matching`,
      policyChanges: { idps: { 'civic-id': { certification_expires: dateIn(90) } } },
    });
    service = await startExampleService({ port, host: '127.0.0.1', brokerIssuer: fed.issuer, baseUrl: `http://127.0.0.1:${port}` });
    const consented = async (username: string) => {
      const citizen = new Citizen(fed);
      await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
      await citizen.verifyWith('civic-id', username);
      await citizen.consent('approve');
      return citizen;
    };
    // Margaret: matched at once.
    const margaret = await consented('margaret');
    subjects.push(String((await margaret.collect()).claims.sub));
    // Dylan: no match, then matched with his NI number.
    const dylan = await consented('dylan');
    await dylan.giveExtra('QQ 12 34 56 C');
    subjects.push(String((await dylan.collect()).claims.sub));
    // Priya: no match, and none with an NI number either.
    const priya = await consented('priya');
    await priya.giveExtra('QQ 99 99 99 D');
    expect((priya.current as { url: string }).url).toMatch(/\/failure$/);
    // The service's matching endpoint goes away: Margaret again, matching fails.
    await service.close();
    const again = await consented('margaret');
    expect((again.current as { url: string }).url).toMatch(/\/failure$/);
  });
  afterAll(async () => {
    await fed?.close();
  });

  it('counts each answer of the service by result, exactly', async () => {
    const text = await scrape(fed);
    const counted = samples(text, 'broker_matching_outcomes_total').filter((s) => s.value > 0);
    expect(Object.fromEntries(counted.map((s) => [s.labels.result, s.value]))).toEqual({
      match: 2, // Margaret; Dylan after his NI number
      'need-attribute': 2, // Dylan and Priya, before their NI numbers
      'no-match': 1, // Priya, after hers
      failed: 1, // Margaret, with the endpoint gone
    });
    for (const s of counted) expect(s.labels.service).toBe('example-council-tax');
    // The journeys they ended, by outcome.
    expect(metric(text, 'broker_idp_journeys_finished_total', { outcome: 'matched', idp: 'civic-id' })).toBe(2);
    expect(metric(text, 'broker_service_journeys_finished_total', { outcome: 'matched', service: 'example-council-tax' })).toBe(2);
    expect(metric(text, 'broker_idp_journeys_finished_total', { outcome: 'no_match', idp: 'civic-id' })).toBe(1);
    expect(metric(text, 'broker_service_journeys_finished_total', { outcome: 'no_match', service: 'example-council-tax' })).toBe(1);
    expect(metric(text, 'broker_idp_journeys_finished_total', { outcome: 'matching_failed', idp: 'civic-id' })).toBe(1);
    expect(metric(text, 'broker_service_journeys_finished_total', { outcome: 'matching_failed', service: 'example-council-tax' })).toBe(1);
    expect(samples(text, 'broker_idp_journeys_finished_total').filter((s) => s.labels.outcome === 'signedIn')).toEqual([]);
    expect(samples(text, 'broker_service_journeys_finished_total').filter((s) => s.labels.outcome === 'signedIn')).toEqual([]);
    expect(metric(text, 'broker_journeys_started_total', { service: 'example-council-tax' })).toBe(4);
  });

  it('matching labels and values hold nothing about anyone', async () => {
    const text = await scrape(fed);
    for (const s of samples(text, 'broker_matching_outcomes_total')) {
      expect(Object.keys(s.labels).sort()).toEqual(['result', 'service']);
      expect(['match', 'created', 'no-match', 'need-attribute', 'failed']).toContain(s.labels.result);
    }
    const personal = [
      ...['Margaret', 'Okafor', '1958-03-14', 'EX1 2AB', 'Dylan', 'Evans', '1990-07-02', 'EX9 4CY', 'Priya', 'Shah', '1985-11-23', 'EX3 9LT'],
      // National Insurance numbers as given and as normalised, and the service's account references.
      ...['QQ 12 34 56 C', 'QQ123456C', 'QQ 99 99 99 D', 'QQ999999D', 'CT-100234', 'CT-100871'],
      ...subjects,
    ];
    for (const value of personal) expect(text).not.toContain(value);
    expect(text).not.toMatch(/[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]/);
  });
});
