/**
 * The Express example (examples/express/app.ts) against the SDK's fake broker: a person signs in
 * and sees who they are; refreshing the callback leads to the same page (post/redirect/get); two
 * sign-ins started in one browser both finish; a failed journey shows its reason and reference.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newKey, startFakeOp, type FakeOp } from '../../src/testing.js';
import { freePort } from '../../../test/support/ports.js';
import { startExpressExample, type ExpressExample } from './app.js';

let op: FakeOp;
let service: ExpressExample;
let base: string;

beforeAll(async () => {
  op = await startFakeOp();
  const key = await newKey();
  op.clientKeys = [key.publicJwk];
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  service = await startExpressExample({ port, baseUrl: base, brokerIssuer: op.issuer, clientId: 'my-service', privateKey: key.privateJwk, allowInsecureRequests: true });
});
afterAll(async () => {
  await service?.close();
  await op?.close();
});

/** A browser's cookie jar, by name. */
class Jar {
  private readonly cookies = new Map<string, string>();
  take(response: Response): void {
    for (const c of response.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [name, value] = pair!.split(/=(.*)/s) as [string, string];
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  get header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

async function login(jar: Jar): Promise<string> {
  const res = await fetch(`${base}/login`, { redirect: 'manual', headers: { cookie: jar.header } });
  expect(res.status).toBe(303);
  jar.take(res);
  return res.headers.get('location')!;
}

async function back(jar: Jar, callback: URL): Promise<{ location: string; page: string }> {
  const res = await fetch(callback, { redirect: 'manual', headers: { cookie: jar.header } });
  expect(res.status).toBe(303);
  jar.take(res);
  const location = res.headers.get('location')!;
  const page = await (await fetch(new URL(location, base))).text();
  return { location, page };
}

describe('the Express example', () => {
  it('shows its start page, signs Margaret in, and a refresh of the callback leads to the same page', async () => {
    expect(await (await fetch(`${base}/`)).text()).toContain('href="/login"');
    const jar = new Jar();
    const callback = op.authorize(await login(jar));
    const first = await back(jar, callback);
    expect(first.location).toMatch(/^\/result\//);
    expect(first.page).toContain('Hello Margaret Okafor (Cl.Cm.P2). Your account: CT-100234.');
    const again = await back(jar, callback);
    expect(again.location).toBe(first.location);
  });

  it('two sign-ins started in one browser both finish', async () => {
    const jar = new Jar();
    const one = op.authorize(await login(jar));
    const two = op.authorize(await login(jar));
    expect((await back(jar, two)).page).toContain('Hello Margaret Okafor');
    expect((await back(jar, one)).page).toContain('Hello Margaret Okafor');
  });

  it('a failed journey shows its reason and reference', async () => {
    const jar = new Jar();
    const failed = await back(jar, op.fail(await login(jar), 'no_match', { caseReference: 'CASE-1234-ABCD', journeyReference: 'J-1' }));
    expect(failed.page).toContain('Sorry, that did not work (no_match). Reference: CASE-1234-ABCD.');
  });
});
