/** The ways forward a citizen has when they cannot, or did not in time, verify. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';

describe('ways forward', () => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation({ idps: ['civic-id', 'community-vouch'] });
  });
  afterAll(() => fed?.close());

  it('"I cannot use any of these" reaches the service\'s other ways at once, and can go back to the service', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    const otherWays = await citizen.visit(new URL(`${(citizen.current as { url: string }).url}/other-ways`));
    expect(otherWays).toMatchObject({ kind: 'page', status: 200 });
    expect(citizen.html).toContain('0300 123 4567');
    const back = await citizen.press('return');
    const url = (back as { url: URL }).url;
    expect(url.searchParams.get('error')).toBe('access_denied');
    expect(url.searchParams.get('error_reason')).toBe('no_provider');
    expect(url.searchParams.get('code')).toBeNull();
  });

  it('a journey left too long times out: the citizen is told, and the service gets timed_out', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    const picker = (citizen.current as { url: string }).url;
    fed.clock.advance(86 * 60 * 1000);
    const page = await citizen.visit(picker);
    expect((page as { url: string }).url).toMatch(/\/failure$/);
    expect(citizen.html).toContain('Your session has timed out');
    const back = await citizen.press('return');
    expect((back as { url: URL }).url.searchParams.get('error_reason')).toBe('timed_out');
  });

  it('the audit trail holds every transition of a journey, without personal data, and its chain verifies', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    await citizen.verifyWith('civic-id', 'margaret');
    await citizen.consent('approve');
    const { claims } = await citizen.collect();
    const events = await fed.brokers[0]!.audit.list({ journey: String(claims.txn) });
    expect(events.map((e) => e.type)).toEqual([
      'journey.started',
      'journey.idpChosen',
      'journey.idpReturned',
      'journey.consentGiven',
      'journey.signedInWithoutMatching',
      'journey.delivered',
    ]);
    const text = JSON.stringify(events);
    for (const value of ['Margaret', 'Okafor', '1958-03-14', 'EX1 2AB']) expect(text).not.toContain(value);
    expect(await fed.brokers[0]!.audit.verify()).toMatchObject({ ok: true });
  });
});
