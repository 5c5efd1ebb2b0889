/** Issue 13 item 11: wrong passwords and wrong one-time codes are limited, per account and per sign-in. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient, getText } from '../../test/support/browser-client.js';
import { authRequest, brokerClient, startStub, type Started } from './helpers.js';

describe('attempt limits', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startStub('swift-verify');
  });
  afterAll(async () => {
    await s?.stub.close();
  });

  async function signInPage(vtr: string) {
    const config = await brokerClient(s.stub);
    const req = await authRequest(config, s.redirectUri, { vtr });
    const browser = new BrowserClient();
    const page = await browser.follow(req.url);
    return { browser, html: await getText(page.response), url: page.url };
  }

  async function codeStep(username: string) {
    const p = await signInPage('["Cl.Cm.P2"]');
    const signedIn = await p.browser.submitForm(p.html, p.url, { formSelector: 'sign-in', fields: { username, password: 'demo-password' } });
    expect(signedIn.status).toBe(303);
    const step = await p.browser.follow(new URL(signedIn.headers.get('location')!, p.url));
    return { browser: p.browser, html: await getText(step.response), url: step.url };
  }

  const shownCode = (html: string) => /data-testid="demo-code">(\d{6})</.exec(html)?.[1];

  it('a one-time code stops working after 5 wrong tries, and 30 wrong tries never lead to a working code', async () => {
    const step = await codeStep('priya');
    const first = shownCode(step.html)!;
    expect(first).toMatch(/^\d{6}$/);
    const wrongCode = first === '000000' ? '111111' : '000000';
    let html = step.html;
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await step.browser.submitForm(html, step.url, { formSelector: 'code-form', fields: { code: wrongCode } });
      statuses.push(res.status);
      const text = await getText(res);
      if (res.status === 400 || res.status === 429) {
        if (/name="code"/.test(text)) html = text;
      }
    }
    expect(statuses.slice(0, 4).every((st) => st === 400)).toBe(true);
    expect(statuses.slice(4).every((st) => st === 429)).toBe(true);
    // The first code, and whatever code the page shows now, no longer sign in.
    const withFirst = await step.browser.submitForm(step.html, step.url, { formSelector: 'code-form', fields: { code: first } });
    expect(withFirst.status).toBe(429);
    expect(await getText(withFirst)).toContain('Too many wrong security codes');
    const page = await step.browser.follow(new URL(step.url));
    const nowShown = shownCode(await getText(page.response));
    if (nowShown) {
      const withShown = await step.browser.submitForm(step.html, step.url, { formSelector: 'code-form', fields: { code: nowShown } });
      expect(withShown.status).not.toBe(303);
    }
    // A fresh sign-in for the same account cannot start over with new tries.
    const again = await codeStep('priya');
    const code = shownCode(again.html);
    if (code) {
      const res = await again.browser.submitForm(again.html, again.url, { formSelector: 'code-form', fields: { code } });
      expect(res.status).toBe(429);
    } else {
      expect(again.html).toContain('Too many wrong security codes');
    }
  });

  it('wrong passwords lock the account for a while after 5 tries; other accounts still sign in', async () => {
    const p = await signInPage('["Cl.P1"]');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await p.browser.submitForm(p.html, p.url, { formSelector: 'sign-in', fields: { username: 'dylan', password: `wrong-${i}` } });
      statuses.push(res.status);
      await res.body?.cancel();
    }
    expect(statuses.slice(0, 5)).toEqual([400, 400, 400, 400, 429]);
    expect(statuses[5]).toBe(429);
    // The right password is refused while the account is locked, in this and a new sign-in.
    const right = await p.browser.submitForm(p.html, p.url, { formSelector: 'sign-in', fields: { username: 'dylan', password: 'demo-password' } });
    expect(right.status).toBe(429);
    expect(await getText(right)).toContain('Too many attempts');
    const fresh = await signInPage('["Cl.P1"]');
    const again = await fresh.browser.submitForm(fresh.html, fresh.url, { formSelector: 'sign-in', fields: { username: 'dylan', password: 'demo-password' } });
    expect(again.status).toBe(429);
    const other = await fresh.browser.submitForm(fresh.html, fresh.url, { formSelector: 'sign-in', fields: { username: 'margaret', password: 'demo-password' } });
    expect(other.status).toBe(303);
  });

  it('one sign-in cannot try password after password across many accounts', async () => {
    const p = await signInPage('["Cl.P1"]');
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await p.browser.submitForm(p.html, p.url, { formSelector: 'sign-in', fields: { username: `nobody-${i}`, password: 'guess' } });
      statuses.push(res.status);
      await res.body?.cancel();
    }
    expect(statuses.slice(0, 9).every((st) => st === 400)).toBe(true);
    expect(statuses.slice(10).every((st) => st === 429)).toBe(true);
  });
});
