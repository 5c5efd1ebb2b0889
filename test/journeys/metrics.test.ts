/** Operators' metrics and the public performance page count what happened, and nothing about anyone. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';

describe('metrics and the performance page', () => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation({ idps: ['civic-id', 'community-vouch'] });
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

  const metric = (text: string, name: string, labels: Record<string, string>) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };

  it('counts journeys by outcome, IdP and service, and matching-free sign-ins', async () => {
    const text = await (await fetch(`${fed.issuer}/metrics`)).text();
    expect(metric(text, 'broker_journeys_started_total', { service: 'example-council-tax' })).toBe(4);
    expect(metric(text, 'broker_journeys_finished_total', { outcome: 'signedIn', idp: 'civic-id', service: 'example-council-tax' })).toBe(2);
    expect(metric(text, 'broker_journeys_finished_total', { outcome: 'level_not_met', idp: 'civic-id' })).toBe(1);
    expect(metric(text, 'broker_journeys_finished_total', { outcome: 'cancelled', idp: 'community-vouch' })).toBe(1);
    expect(metric(text, 'broker_idp_up', { idp: 'civic-id' })).toBe(1);
    expect(metric(text, 'broker_idp_certification_days_left', { idp: 'civic-id' })).toBeGreaterThan(30);
    expect(text).toMatch(/broker_http_request_duration_seconds_count\{route="\/journey\/:uid\/consent",method="POST",status="302"\} \d+/);
  });

  it('holds no personal data and no per-person labels', async () => {
    const text = await (await fetch(`${fed.issuer}/metrics`)).text();
    for (const value of ['Margaret', 'Okafor', '1958-03-14', 'EX1 2AB', 'Dylan', 'Taylor']) expect(text).not.toContain(value);
    // No label takes a journey reference, a subject, or an interaction id.
    expect(text).not.toMatch(/[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]/);
    expect(text).not.toMatch(/\/journey\/[A-Za-z0-9_-]{20,}/);
  });

  it('the public page shows the success rate per IdP over the last day, as a table and a chart', async () => {
    const html = await (await fetch(`${fed.issuer}/performance`)).text();
    const civic = html.slice(html.indexOf('Civic ID'));
    expect(civic).toMatch(/Civic ID<\/th>\s*<td[^>]*>3<\/td>\s*<td[^>]*>2<\/td>\s*<td[^>]*>67%<\/td>/);
    expect(html).toContain('level not reached: 1');
    expect(html).toMatch(/Community Vouch<\/th>\s*<td[^>]*>1<\/td>\s*<td[^>]*>0<\/td>\s*<td[^>]*>0%/);
    expect(html).toContain('<svg role="img"');
    // A day later, the window has moved on.
    fed.clock.advance(25 * 3600 * 1000);
    const later = await (await fetch(`${fed.issuer}/performance`)).text();
    expect(later).toMatch(/Civic ID<\/th>\s*<td[^>]*>0<\/td>/);
  });
});
