import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient, getText, parseForms } from '../../test/support/browser-client.js';
import { freePort } from '../../test/support/ports.js';

describe('BrowserClient', () => {
  let server: Server;
  let port: number;
  const seen: { url: string; cookie: string; method: string; body: string; host: string }[] = [];

  beforeAll(async () => {
    port = await freePort();
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ url: req.url!, cookie: req.headers.cookie ?? '', method: req.method!, body, host: req.headers.host! });
        const url = new URL(req.url!, 'http://x');
        if (url.pathname === '/set') {
          res.setHeader('set-cookie', [
            'root=1; Path=/; HttpOnly; SameSite=Lax',
            'scoped=2; Path=/app',
            'short=3; Max-Age=0',
            'old=4; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
            'foreign=5; Domain=example.org',
          ]);
          res.end('ok');
        } else if (url.pathname === '/hop1') {
          res.statusCode = 302;
          res.setHeader('location', '/hop2');
          res.end();
        } else if (url.pathname === '/hop2') {
          res.statusCode = 303;
          res.setHeader('location', `http://127.0.0.1:${port}/app/page`);
          res.end();
        } else if (url.pathname === '/loop') {
          res.statusCode = 302;
          res.setHeader('location', '/loop');
          res.end();
        } else {
          res.setHeader('content-type', 'text/html');
          res.end('<p>page</p>');
        }
      });
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('keeps cookies by host and path, drops expired and foreign-domain ones', async () => {
    const b = new BrowserClient();
    await (await b.fetch(`http://127.0.0.1:${port}/set`)).text();
    expect(b.cookies().map((c) => c.name).sort()).toEqual(['root', 'scoped']);
    await (await b.fetch(`http://127.0.0.1:${port}/app/x`)).text();
    expect(seen.at(-1)!.cookie).toBe('scoped=2; root=1');
    await (await b.fetch(`http://127.0.0.1:${port}/application`)).text();
    expect(seen.at(-1)!.cookie).toBe('root=1');
    expect(b.cookieHeader(new URL(`http://localhost:${port}/app/x`))).toBe('');
    expect(b.cookieHeader(new URL(`http://127.0.0.1:${port}/app/x`))).toBe('scoped=2; root=1');
    expect(b.cookie(`http://localhost:${port}/`, 'root')).toBeUndefined();
    expect(b.cookie(`http://127.0.0.1:${port}/`, 'root')).toBe('1');
    expect(b.cookies().find((c) => c.name === 'root')!.httpOnly).toBe(true);
  });

  it('follows redirects (GET after 302/303) and counts requests; stops at maxHops', async () => {
    const b = new BrowserClient();
    const { response, url, chain } = await b.follow(`http://127.0.0.1:${port}/hop1`);
    expect(response.status).toBe(200);
    expect(url).toBe(`http://127.0.0.1:${port}/app/page`);
    expect(chain).toHaveLength(3);
    expect(b.requests).toBe(3);
    await expect(b.follow(`http://127.0.0.1:${port}/loop`, { maxHops: 3 })).rejects.toThrow(/more than 3 redirects/);
    const stopped = await b.follow(`http://127.0.0.1:${port}/hop1`, { stopAt: (u) => u.pathname === '/app/page' });
    expect(stopped.response.status).toBe(303);
  });

  it('parses and submits forms: hidden inputs, overrides, method and action resolved', async () => {
    const html = `<form id="a" action="/one"><input name="q" value="x"></form>
      <form method="POST" action="/app/post?k=1" id="b">
        <input type="hidden" name="csrf" value="t&amp;k">
        <input name="username" value="">
        <input type="checkbox" name="remember" value="yes" checked>
        <input type="checkbox" name="other" value="no">
        <input name="off" value="1" disabled>
        <textarea name="notes">hello</textarea>
        <select name="pick"><option value="1">One</option><option value="2" selected>Two</option></select>
        <button type="submit" name="go" value="now">Go</button>
      </form>`;
    const forms = parseForms(html, `http://127.0.0.1:${port}/app/page`);
    expect(forms).toHaveLength(2);
    expect(forms[1]).toMatchObject({ id: 'b', method: 'POST', action: `http://127.0.0.1:${port}/app/post?k=1` });
    const b = new BrowserClient();
    const res = await b.submitForm(html, `http://127.0.0.1:${port}/app/page`, { formSelector: 'b', fields: { username: 'margaret', extra: 'e' }, submitter: 'go' });
    expect(await getText(res)).toContain('page');
    const last = seen.at(-1)!;
    expect(last.method).toBe('POST');
    expect(last.url).toBe('/app/post?k=1');
    expect(Object.fromEntries(new URLSearchParams(last.body))).toEqual({
      csrf: 't&k', username: 'margaret', remember: 'yes', notes: 'hello', pick: '2', extra: 'e', go: 'now',
    });
    await b.submitForm(html, `http://127.0.0.1:${port}/app/page`, { formSelector: '/one' });
    expect(seen.at(-1)!.url).toBe('/one?q=x');
    expect(() => b.findForm(html, 'http://x/', 'nope')).toThrow(/no form matching "nope"/);
  });
});
