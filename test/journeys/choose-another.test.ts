/**
 * "Choose another identity provider" at the provider (issue 14): the stub ends its sign-in as
 * access_denied, and the broker shows the choice of provider again, saying the person did not
 * finish there, in their language; the journey goes on with another provider. The provider is
 * never told the service, and an unknown ?stopped= value shows nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';
import { getText } from '../support/browser-client.js';
import { visibleText } from '../support/text.js';

describe('choosing another provider from the provider\'s sign-in page', () => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation();
  });
  afterAll(() => fed?.close());

  async function cancelAtProvider(citizen: Citizen, idpId: string) {
    const idpUrl = await citizen.choose(idpId);
    const signIn = await citizen.browser.follow(idpUrl);
    const html = await getText(signIn.response);
    const href = /<a href="([^"]+)">(?:Choose another identity provider|Dewis darparwr hunaniaeth arall)<\/a>/.exec(html)?.[1];
    expect(href).toBeTruthy();
    return citizen.visit(new URL(href!, signIn.url));
  }

  for (const [lang, notice, heading] of [
    ['en', 'You did not finish proving your identity with Civic ID. Nothing was shared.', 'Choose how to prove your identity'],
    ['cy', 'Ni wnaethoch orffen profi pwy ydych chi gyda Civic ID. Ni rannwyd dim.', 'Dewiswch sut i brofi pwy ydych chi'],
  ] as const) {
    it(`leads back to the picker with a notice, and on to another provider (${lang})`, async () => {
      const citizen = new Citizen(fed);
      await citizen.start(await fed.service(), { vtr: ['Cl.P1'], extra: { ui_locales: lang } });
      const back = await cancelAtProvider(citizen, 'civic-id');
      expect(back.kind).toBe('page');
      expect((back as { url: string }).url).toMatch(/\/journey\/[^/?]+\?stopped=civic-id$/);
      const text = visibleText(citizen.html);
      expect(text).toContain(notice);
      expect(text).toContain(heading);
      // The journey records both steps, without personal data.
      const events = (await fed.brokers[0]!.audit.list({})).map((e) => e.type);
      expect(events).toContain('journey.idpFailed');
      expect(events).toContain('journey.anotherProviderRequested');
      // And goes on: Sam through Community Vouch.
      await citizen.verifyWith('community-vouch', 'sam', undefined);
      await citizen.consent('approve');
      const { claims } = await citizen.collect();
      expect(claims.vot).toBe('Cl.P1');
    });
  }

  it('the notice names only a provider this journey went to; anything else in ?stopped= shows nothing', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.P1'] });
    const picker = new URL((citizen.current as { url: string }).url);
    for (const value of ['swift-verify', '<script>', 'community-vouch']) {
      picker.searchParams.set('stopped', value);
      await citizen.visit(picker);
      expect(citizen.html).not.toContain('You did not finish');
    }
  });
});
