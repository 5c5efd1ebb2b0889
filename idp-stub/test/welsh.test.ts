/**
 * The stub in English and Welsh (issue 14): the language the broker asks for with ui_locales, the
 * stub's own toggle, a styled "page not found", the passkey sentence about JavaScript only without
 * JavaScript, a way back to the choice of provider, and no dead end after Back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient, getText } from '../../test/support/browser-client.js';
import { visibleText } from '../../test/support/text.js';
import { authRequest, brokerClient, startStub, type Started } from './helpers.js';

describe('the stub speaks English and Welsh, and every page leads somewhere', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startStub('civic-id');
  });
  afterAll(async () => {
    await s?.stub.close();
  });
  const atBroker = (u: URL) => u.href.startsWith(s.redirectUri);
  const resume = () => new URL('/journey/resume', s.redirectUri).href;

  async function open(params: Record<string, string>, browser = new BrowserClient()) {
    const config = await brokerClient(s.stub);
    const req = await authRequest(config, s.redirectUri, { vtr: '["Cl.Cm.P2"]', ...params });
    const page = await browser.follow(req.url);
    return { browser, req, url: page.url, html: await getText(page.response), status: page.response.status };
  }

  it('ui_locales=cy opens the sign-in page in Welsh; the toggle switches this sign-in to English and back', async () => {
    const cy = await open({ ui_locales: 'cy en' });
    expect(cy.status).toBe(200);
    expect(cy.html).toContain('<html lang="cy">');
    expect(visibleText(cy.html)).toContain('Mewngofnodi');
    expect(cy.html).toMatch(/<label for="username">Enw defnyddiwr<\/label>/);
    expect(cy.html).toMatch(/<a href="\/interaction\/[^"?]+\?lang=en" lang="en" hreflang="en">English<\/a>/);
    const interaction = new URL(cy.url).pathname;
    const en = await cy.browser.follow(new URL(`${interaction}?lang=en`, cy.url));
    const enHtml = await getText(en.response);
    expect(enHtml).toContain('<html lang="en">');
    expect(enHtml).toMatch(/<label for="username">Username<\/label>/);
    // The choice holds for this sign-in without ?lang (a reload, an error re-render).
    const again = await getText((await cy.browser.follow(new URL(interaction, cy.url))).response);
    expect(again).toContain('<html lang="en">');
    const wrong = await cy.browser.submitForm(again, cy.url, { formSelector: 'sign-in', fields: { username: '', password: '' } });
    expect(wrong.status).toBe(400);
    expect(await getText(wrong)).toContain('Enter your username');
    const back = await getText((await cy.browser.follow(new URL(`${interaction}?lang=cy`, cy.url))).response);
    const wrongCy = await cy.browser.submitForm(back, cy.url, { formSelector: 'sign-in', fields: { username: 'margaret', password: 'not-it' } });
    const wrongCyHtml = await getText(wrongCy);
    expect(wrongCyHtml).toContain('<html lang="cy">');
    expect(wrongCyHtml).toContain('Nid yw’r enw defnyddiwr neu’r cyfrinair yn gywir');
    expect(wrongCyHtml).toContain('<title>Gwall: Mewngofnodi');
  });

  it('without ui_locales the page is in English; the second step is in the same language as the first', async () => {
    const en = await open({});
    expect(en.html).toContain('<html lang="en">');
    const cy = await open({ ui_locales: 'cy' });
    const signedIn = await cy.browser.submitForm(cy.html, cy.url, { formSelector: 'sign-in', fields: { username: 'margaret', password: 'demo-password' } });
    expect(signedIn.status).toBe(303);
    const step = await getText((await cy.browser.follow(new URL(signedIn.headers.get('location')!, cy.url))).response);
    expect(step).toContain('<html lang="cy">');
    expect(visibleText(step)).toContain('Cadarnhau mai chi sydd yno');
    expect(visibleText(step)).toContain('Rydym wedi anfon cod 6 digid i’ch rhif ffôn sy’n gorffen â 123.');
  });

  it('the sentence "needs JavaScript" is only for browsers without JavaScript (inside <noscript>)', async () => {
    const p = await open({});
    const signedIn = await p.browser.submitForm(p.html, p.url, { formSelector: 'sign-in', fields: { username: 'margaret', password: 'demo-password' } });
    const step = await getText((await p.browser.follow(new URL(signedIn.headers.get('location')!, p.url))).response);
    expect(step).toContain('Or use a passkey');
    const mentions = [...step.matchAll(/needs JavaScript/g)].length;
    expect(mentions).toBe(1);
    expect(step).toMatch(/<noscript><p class="no-js">Using a passkey needs JavaScript to be turned on in your browser\.<\/p><\/noscript>/);
  });

  it('"Choose another identity provider" ends the sign-in as access_denied at the broker, on the sign-in page and on the second step', async () => {
    for (const signInFirst of [false, true]) {
      const p = await open({});
      let html = p.html;
      let pageUrl = p.url;
      if (signInFirst) {
        const signedIn = await p.browser.submitForm(html, p.url, { formSelector: 'sign-in', fields: { username: 'margaret', password: 'demo-password' } });
        const step = await p.browser.follow(new URL(signedIn.headers.get('location')!, p.url));
        html = await getText(step.response);
        pageUrl = step.url;
      }
      const href = /<a href="([^"]+)">Choose another identity provider<\/a>/.exec(html)?.[1];
      expect(href, `link on the ${signInFirst ? 'second step' : 'sign-in page'}`).toMatch(/^\/interaction\/[^/]+\/cancel$/);
      const back = await p.browser.follow(new URL(href!, pageUrl), { stopAt: atBroker });
      const location = new URL(back.response.headers.get('location')!, back.url);
      expect(atBroker(location)).toBe(true);
      expect(location.searchParams.get('error')).toBe('access_denied');
      expect(location.searchParams.get('state')).toBe(p.req.state);
      // The stub was never told the service: the request it got names only the broker.
      expect(s.stub.requests.map((r) => r.url).join(' ')).not.toMatch(/council|example-council-tax|3200/);
    }
  });

  it('Back to a sign-in that has finished leads to the broker\'s /journey/resume, in the person\'s language', async () => {
    for (const [ui, heading, link] of [
      ['en', 'Your session has ended', 'Go back to choosing how to prove your identity'],
      ['cy', 'Mae eich sesiwn wedi dod i ben', 'Mynd yn ôl at ddewis sut i brofi pwy ydych chi'],
    ] as const) {
      const p = await open({ ui_locales: ui });
      const cancelled = await p.browser.follow(new URL(`${new URL(p.url).pathname}/cancel`, p.url), { stopAt: atBroker });
      expect(cancelled.response.headers.get('location')).toContain('error=access_denied');
      // Back: the interaction page again.
      const again = await p.browser.follow(p.url);
      const html = await getText(again.response);
      expect(again.response.status).toBe(400);
      expect(visibleText(html)).toContain(heading);
      expect(html).toContain(`<a href="${resume()}">${link}</a>`);
    }
  });

  it('an unknown path answers a styled 404 page in English or Welsh, with the way back to the broker', async () => {
    const browser = new BrowserClient();
    for (const path of ['/no-such-page', '/interaction', '/passkeys/nothing-here']) {
      const en = await browser.fetch(new URL(path, s.stub.url));
      expect(en.status, path).toBe(404);
      expect(en.headers.get('content-type')).toMatch(/text\/html/);
      const html = await en.text();
      expect(html).toContain('<link rel="stylesheet" href="/static/style.css">');
      expect(visibleText(html)).toContain('Page not found');
      expect(html).toContain(`<a href="${resume()}">`);
    }
    const cy = await browser.fetch(new URL('/no-such-page?lang=cy', s.stub.url));
    expect(cy.status).toBe(404);
    const cyHtml = await cy.text();
    expect(cyHtml).toContain('<html lang="cy">');
    expect(visibleText(cyHtml)).toContain('Heb ddod o hyd i’r dudalen');
    // The toggle is remembered: the next unknown path is in Welsh too.
    expect(visibleText(await (await browser.fetch(new URL('/elsewhere', s.stub.url))).text())).toContain('Heb ddod o hyd i’r dudalen');
    // What oidc-provider answers itself is left alone.
    expect((await fetch(new URL('/.well-known/openid-configuration', s.stub.url))).status).toBe(200);
  });
});
