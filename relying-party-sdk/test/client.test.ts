import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import Koa from 'koa';
import {
  BrokerError,
  createBrokerClient,
  koaBrokerLogin,
  meetsAny,
  nodeCallbackHandler,
  nodeLoginHandler,
  sealTransaction,
  transactionCookieName,
  unsealTransaction,
  MAX_PARALLEL_LOGINS,
  type BrokerClient,
  type BrokerErrorCode,
} from '../src/index.js';
import { freePort } from '../../test/support/ports.js';
import { newKey, startFakeOp, type FakeOp } from '../src/testing.js';

const CLIENT_ID = 'test-service';
const redirectUri = 'https://service.example/callback';
let op: FakeOp;
let client: BrokerClient;
const servers: Server[] = [];

beforeAll(async () => {
  op = await startFakeOp();
  const key = await newKey();
  op.clientKeys = [key.publicJwk];
  client = await createBrokerClient({ issuer: op.issuer, clientId: CLIENT_ID, redirectUri, privateKey: key.privateJwk, allowInsecureRequests: true });
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise<void>((r) => (s.close(() => r()), s.closeAllConnections()))));
  await op.close();
});

async function codeOf(p: Promise<unknown>): Promise<BrokerErrorCode> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(BrokerError);
  return (e as BrokerError).code;
}

async function signIn(vtr: string | string[] = 'Cl.Cm.P2') {
  const { url, transaction } = await client.startLogin({ vtr, attributes: ['given_name', 'family_name', 'birthdate', 'address'] });
  return { url, transaction, callback: op.authorize(url) };
}

describe('startLogin', () => {
  it('asks for the level as a vtr JSON array and the attributes as verified_claims, with PKCE S256, state, nonce and scope openid', async () => {
    const { url: href, transaction } = await client.startLogin({ vtr: ['Cl.Cm.P2', 'Cl.Cm.Cp.P1'], attributes: ['given_name', 'birthdate'], uiLocales: 'cy en' });
    expect(typeof href).toBe('string'); // ready for res.redirect(), ctx.redirect(), Location
    const url = new URL(href);
    expect(url.origin + url.pathname).toBe(`${op.issuer}/authorize`);
    const p = url.searchParams;
    expect(p.get('response_type')).toBe('code');
    expect(p.get('scope')).toBe('openid');
    expect(p.get('client_id')).toBe(CLIENT_ID);
    expect(p.get('redirect_uri')).toBe(redirectUri);
    expect(p.get('code_challenge_method')).toBe('S256');
    expect(p.get('code_challenge')).toBe(createHash('sha256').update(transaction.codeVerifier).digest('base64url'));
    expect(p.get('state')).toBe(transaction.state);
    expect(p.get('nonce')).toBe(transaction.nonce);
    expect(JSON.parse(p.get('vtr')!)).toEqual(['Cl.Cm.P2', 'Cl.Cm.Cp.P1']);
    expect(JSON.parse(p.get('claims')!)).toEqual({ id_token: { verified_claims: { verification: { trust_framework: null }, claims: { given_name: null, birthdate: null } } } });
    expect(p.get('ui_locales')).toBe('cy en');
    expect(transaction).toMatchObject({ vtr: ['Cl.Cm.P2', 'Cl.Cm.Cp.P1'], attributes: ['given_name', 'birthdate'] });
    const other = await client.startLogin({ vtr: 'Cl.Cm.P2', attributes: [] });
    expect(other.transaction.state).not.toBe(transaction.state);
    expect(other.transaction.nonce).not.toBe(transaction.nonce);
  });

  it('refuses what is not a level vector', async () => {
    await expect(client.startLogin({ vtr: 'High please', attributes: [] })).rejects.toThrow(/not a level vector/);
    await expect(client.startLogin({ vtr: [], attributes: [] })).rejects.toThrow(/not a level vector/);
  });

  it('pushes the request first with usePar, and the journey completes', async () => {
    const { url: href, transaction } = await client.startLogin({ vtr: 'Cl.Cm.P2', attributes: ['given_name'], usePar: true });
    const url = new URL(href);
    expect(url.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    expect(url.searchParams.get('claims')).toBeNull();
    const identity = await client.handleCallback(op.authorize(url), transaction);
    expect(op.lastAuthorization!.get('vtr')).toBe('["Cl.Cm.P2"]');
    expect(identity.attributes).toEqual({ given_name: 'Margaret' });
  });
});

describe('handleCallback', () => {
  it('returns the typed identity: pairwise subject, level, trust mark, journey reference, attributes flat and raw, match', async () => {
    const { callback, transaction } = await signIn();
    const identity = await client.handleCallback(callback, transaction);
    expect(identity).toEqual({
      subject: 'pairwise-subject-1',
      level: 'Cl.Cm.P2',
      trustMark: `${op.issuer}/trustmark`,
      journeyReference: 'JRN-TEST-0001',
      attributes: {
        given_name: 'Margaret',
        family_name: 'Okafor',
        birthdate: '1958-03-14',
        address: { street_address: '12 Station Road', locality: 'Exampleton', postal_code: 'EX1 2AB', country: 'GB' },
      },
      verifiedClaims: expect.objectContaining({ verification: { trust_framework: 'uk_diatf', assurance_level: 'Cl.Cm.P2' } }),
      match: { result: 'matched', accountRef: 'CT-100234' },
      account: { status: 'matched', reference: 'CT-100234' },
    });
  });

  it('says plainly when there is no account: a service without a matching URL gets account.status "none"', async () => {
    const { callback, transaction } = await signIn();
    op.nextIdToken = (c) => ({ ...c, match: undefined });
    const identity = await client.handleCallback(callback, transaction);
    expect(identity.account).toEqual({ status: 'none', reference: null });
    expect(identity.match).toBeUndefined();
  });

  it('accepts a level above the one asked for, and any one of several', async () => {
    const { callback, transaction } = await signIn(['Cl.Cm.Cp.P3', 'Cl.Cm.P1']);
    op.nextIdToken = (c) => ({ ...c, vot: 'Cl.Cm.Cp.P1' });
    expect((await client.handleCallback(callback, transaction)).level).toBe('Cl.Cm.Cp.P1');
  });

  it('refuses a tampered ID token (payload changed, signature kept)', async () => {
    const { callback, transaction } = await signIn();
    op.nextIdTokenString = (jwt) => {
      const [h, p, s] = jwt.split('.');
      const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
      claims.sub = 'somebody-else';
      return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    };
    expect(await codeOf(client.handleCallback(callback, transaction))).toBe('invalid_response');
  });

  it('refuses an ID token signed by a key the broker does not publish', async () => {
    const { callback, transaction } = await signIn();
    const real = op.signing;
    op.signing = { ...(await newKey()), kid: real.kid };
    try {
      expect(await codeOf(client.handleCallback(callback, transaction))).toBe('invalid_response');
    } finally {
      op.signing = real;
    }
  });

  it('refuses the wrong audience', async () => {
    const { callback, transaction } = await signIn();
    op.nextIdToken = (c) => ({ ...c, aud: 'another-service' });
    expect(await codeOf(client.handleCallback(callback, transaction))).toBe('invalid_response');
  });

  it('refuses the wrong nonce', async () => {
    const { callback, transaction } = await signIn();
    op.nextIdToken = (c) => ({ ...c, nonce: 'a-nonce-from-another-sign-in' });
    expect(await codeOf(client.handleCallback(callback, transaction))).toBe('invalid_response');
  });

  it('refuses an expired ID token and another issuer', async () => {
    const first = await signIn();
    op.nextIdToken = (c) => ({ ...c, iat: c.iat! - 3600, exp: c.iat! - 3000 });
    expect(await codeOf(client.handleCallback(first.callback, first.transaction))).toBe('invalid_response');
    const second = await signIn();
    op.nextIdToken = (c) => ({ ...c, iss: 'https://evil.example' });
    expect(await codeOf(client.handleCallback(second.callback, second.transaction))).toBe('invalid_response');
  });

  it('refuses a level below the one asked for, even though the broker signed it', async () => {
    const { callback, transaction } = await signIn('Cl.Cm.P2');
    op.nextIdToken = (c) => ({ ...c, vot: 'Cl.Cm.P1' });
    const error = await client.handleCallback(callback, transaction).catch((e: BrokerError) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect(error).toMatchObject({ code: 'level_not_met', journeyReference: 'JRN-TEST-0001' });
    const weak = await signIn('Cl.Cm.P2');
    op.nextIdToken = (c) => ({ ...c, vot: 'Cl.P2' });
    expect(await codeOf(client.handleCallback(weak.callback, weak.transaction))).toBe('level_not_met');
  });

  it('refuses a callback for another sign-in (state mismatch) without redeeming the code', async () => {
    const mine = await client.startLogin({ vtr: 'Cl.Cm.P2', attributes: [] });
    const theirs = await signIn();
    const tokenCalls = op.hits['/token'] ?? 0;
    expect(await codeOf(client.handleCallback(theirs.callback, mine.transaction))).toBe('state_mismatch');
    expect(op.hits['/token'] ?? 0).toBe(tokenCalls);
  });

  it('refuses a response from another issuer (RFC 9207 mix-up defence)', async () => {
    const { callback, transaction } = await signIn();
    callback.searchParams.set('iss', 'https://other-op.example');
    expect(await codeOf(client.handleCallback(callback, transaction))).toBe('invalid_response');
  });

  it('turns the error redirect into a typed error: no_match with the case and journey references', async () => {
    const { url, transaction } = await client.startLogin({ vtr: 'Cl.Cm.P2', attributes: ['given_name'] });
    const back = op.errorRedirect(url, { error: 'access_denied', error_description: 'We could not find your record', error_reason: 'no_match', txn: 'AAAA-BBBB-CCCC-D', case_ref: 'K7QM-2XPD-9RTB' });
    const error = await client.handleCallback(back, transaction).catch((e: BrokerError) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect(error).toMatchObject({ code: 'no_match', caseReference: 'K7QM-2XPD-9RTB', journeyReference: 'AAAA-BBBB-CCCC-D', description: 'We could not find your record' });
  });

  it('maps every error_reason to its code, and unknown ones to cancelled or server_error', async () => {
    for (const reason of ['cancelled', 'level_not_met', 'provider_failed', 'fraud_flagged', 'timed_out', 'matching_failed', 'no_provider'] as const) {
      const { url, transaction } = await client.startLogin({ vtr: 'Cl.Cm.P2', attributes: [] });
      expect(await codeOf(client.handleCallback(op.errorRedirect(url, { error: 'access_denied', error_reason: reason }), transaction))).toBe(reason);
    }
    const a = await client.startLogin({ vtr: 'Cl.Cm.P2', attributes: [] });
    expect(await codeOf(client.handleCallback(op.errorRedirect(a.url, { error: 'temporarily_unavailable', error_reason: 'gremlins' }), a.transaction))).toBe('server_error');
    const b = await client.startLogin({ vtr: 'Cl.Cm.P2', attributes: [] });
    expect(await codeOf(client.handleCallback(op.errorRedirect(b.url, { error: 'access_denied' }), b.transaction))).toBe('cancelled');
  });

  it('refuses an error redirect for another sign-in (state)', async () => {
    const mine = await client.startLogin({ vtr: 'Cl.Cm.P2', attributes: [] });
    const theirs = await client.startLogin({ vtr: 'Cl.Cm.P2', attributes: [] });
    expect(await codeOf(client.handleCallback(op.errorRedirect(theirs.url, { error: 'access_denied', error_reason: 'no_match' }), mine.transaction))).toBe('state_mismatch');
  });
});

describe('createBrokerClient refuses misconfiguration', () => {
  it('needs a private key with kid (or a secret), https unless allowInsecureRequests', async () => {
    const key = await newKey();
    await expect(createBrokerClient({ issuer: op.issuer, clientId: CLIENT_ID, redirectUri, allowInsecureRequests: true })).rejects.toThrow(/privateKey/);
    await expect(createBrokerClient({ issuer: op.issuer, clientId: CLIENT_ID, redirectUri, privateKey: key.publicJwk, allowInsecureRequests: true })).rejects.toThrow(/private JWK/);
    await expect(createBrokerClient({ issuer: op.issuer, clientId: CLIENT_ID, redirectUri, privateKey: key.privateJwk })).rejects.toThrow(/https/);
    await expect(createBrokerClient({ issuer: op.issuer, clientId: CLIENT_ID, redirectUri: 'http://service.example/callback', privateKey: key.privateJwk, allowInsecureRequests: true })).rejects.toThrow(/redirectUri/);
  });
});

describe('level vectors', () => {
  it('compares authentication and confidence, both must be at least the request', () => {
    expect(meetsAny('Cl.Cm.P2', ['Cl.Cm.P2'])).toBe(true);
    expect(meetsAny('Cl.Cm.Cp.P3', ['Cl.Cm.P2'])).toBe(true);
    expect(meetsAny('Cl.Cm.P1', ['Cl.Cm.P2'])).toBe(false);
    expect(meetsAny('Cl.P2', ['Cl.Cm.P2'])).toBe(false);
    expect(meetsAny('Cl.Cm.P1', ['Cl.Cm.P2', 'Cl.P1'])).toBe(true);
    expect(meetsAny('', ['Cl.P0'])).toBe(false);
    expect(meetsAny('Cx.P9', ['Cl.P0'])).toBe(false);
  });
});

describe('transaction cookie', () => {
  it('seals the transaction: another key, a changed byte or an old cookie give nothing', async () => {
    const { transaction } = await client.startLogin({ vtr: 'Cl.Cm.P2', attributes: [] });
    const key = 'a-cookie-key-of-at-least-32-characters!';
    const sealed = sealTransaction(transaction, key);
    expect(sealed).not.toContain(transaction.codeVerifier);
    expect(unsealTransaction(sealed, key)).toEqual(transaction);
    expect(unsealTransaction(sealed, 'another-key-of-at-least-32-characters!!')).toBeUndefined();
    const parts = sealed.split('.');
    parts[1] = (parts[1]![0] === 'A' ? 'B' : 'A') + parts[1]!.slice(1);
    expect(unsealTransaction(parts.join('.'), key)).toBeUndefined();
    expect(unsealTransaction(sealed, key, transaction.createdAt + 2 * 60 * 60 * 1000)).toBeUndefined();
    expect(() => sealTransaction(transaction, 'short')).toThrow(/32/);
  });
});

describe('sign-in routes over HTTP', () => {
  const cookieKey = 'routes-test-cookie-key-0123456789abcdef';

  async function serve(handler: Parameters<typeof createServer>[1]) {
    const server = createServer(handler);
    servers.push(server);
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    return port;
  }

  it('Koa middleware: /login sets a sealed HttpOnly SameSite=Lax cookie and redirects; /callback gives the identity; no cookie gives state_mismatch', async () => {
    const port = await freePort();
    const key = await newKey();
    op.clientKeys = [...op.clientKeys, key.publicJwk];
    const base = `http://127.0.0.1:${port}`;
    const koaClient = await createBrokerClient({ issuer: op.issuer, clientId: CLIENT_ID, redirectUri: `${base}/auth/callback`, privateKey: key.privateJwk, allowInsecureRequests: true });
    const app = new Koa();
    app.use(
      koaBrokerLogin<Koa.Context>(koaClient, {
        cookieKey,
        vtr: 'Cl.Cm.P2',
        attributes: ['given_name'],
        onSuccess: (ctx, identity) => void (ctx.body = { ok: identity.attributes.given_name, account: identity.match?.accountRef }),
        onError: (ctx, error) => void ((ctx.status = 403), (ctx.body = { error: error.code })),
      }),
    );
    app.use((ctx) => void (ctx.body = 'other'));
    const server = app.listen(port, '127.0.0.1');
    servers.push(server);
    await new Promise((r) => server.once('listening', r));

    const login = await fetch(`${base}/login`, { redirect: 'manual' });
    expect(login.status).toBe(303);
    const setCookie = login.headers.get('set-cookie')!;
    // One cookie per sign-in, named after its state.
    const state = new URL(login.headers.get('location')!).searchParams.get('state')!;
    expect(setCookie.startsWith(`${transactionCookieName(state)}=`)).toBe(true);
    expect(setCookie).toMatch(/^broker_login\.[\w-]{22}=[\w-]+\.[\w-]+\.[\w-]+; Path=\/; Max-Age=3600; HttpOnly; SameSite=Lax$/);
    const callback = op.authorize(new URL(login.headers.get('location')!));
    expect(callback.origin).toBe(base);
    const cookie = setCookie.split(';')[0]!;
    const done = await fetch(callback, { headers: { cookie } });
    expect(done.status).toBe(200);
    expect(await done.json()).toEqual({ ok: 'Margaret', account: 'CT-100234' });
    expect(done.headers.get('set-cookie')).toMatch(/^broker_login\.[\w-]{22}=; Path=\/; Max-Age=0/);

    const again = op.authorize(new URL((await fetch(`${base}/login`, { redirect: 'manual' })).headers.get('location')!));
    const noCookie = await fetch(again);
    expect(noCookie.status).toBe(403);
    expect(await noCookie.json()).toEqual({ error: 'state_mismatch' });
    expect(await (await fetch(`${base}/elsewhere`)).text()).toBe('other');
  });

  it('loginOptions gives each sign-in its own level and language (Koa and Node)', async () => {
    const port = await freePort();
    const key = await newKey();
    op.clientKeys = [...op.clientKeys, key.publicJwk];
    const base = `http://127.0.0.1:${port}`;
    const koaClient = await createBrokerClient({ issuer: op.issuer, clientId: CLIENT_ID, redirectUri: `${base}/callback`, privateKey: key.privateJwk, allowInsecureRequests: true });
    const app = new Koa();
    app.use(
      koaBrokerLogin<Koa.Context>(koaClient, {
        cookieKey,
        vtr: 'Cl.Cm.P2',
        attributes: ['given_name'],
        loginOptions: (ctx) => ({ ...(ctx.query.task === 'bill' ? { vtr: 'Cl.P1' } : {}), ...(ctx.query.lang === 'cy' ? { uiLocales: 'cy' } : {}) }),
        onSuccess: (ctx, identity) => void (ctx.body = { level: identity.level }),
        onError: (ctx, error) => void ((ctx.status = 403), (ctx.body = { error: error.code })),
      }),
    );
    const server = app.listen(port, '127.0.0.1');
    servers.push(server);
    await new Promise((r) => server.once('listening', r));
    const params = async (path: string) => new URL((await fetch(`${base}${path}`, { redirect: 'manual' })).headers.get('location')!).searchParams;
    const plain = await params('/login');
    expect(plain.get('vtr')).toBe('["Cl.Cm.P2"]');
    expect(plain.has('ui_locales')).toBe(false);
    const bill = await params('/login?task=bill&lang=cy');
    expect(bill.get('vtr')).toBe('["Cl.P1"]');
    expect(bill.get('ui_locales')).toBe('cy');
    // Node: the same option, from the request.
    const login = nodeLoginHandler(client, { cookieKey, vtr: 'Cl.Cm.P2', attributes: ['family_name'], loginOptions: (req) => (req.url?.includes('lang=cy') ? { uiLocales: 'cy' } : {}) });
    const nodePort = await serve((req, res) => void login(req, res));
    const started = await fetch(`http://127.0.0.1:${nodePort}/login?lang=cy`, { redirect: 'manual' });
    expect(new URL(started.headers.get('location')!).searchParams.get('ui_locales')).toBe('cy');
  });

  it('Node handlers: login sets the cookie (Secure for an https redirect URI) and redirects 303; callback gives the identity or the typed error', async () => {
    const login = nodeLoginHandler(client, { cookieKey, vtr: 'Cl.Cm.P2', attributes: ['family_name'] });
    const callback = nodeCallbackHandler(client, {
      cookieKey,
      onSuccess: (_req, res, identity) => res.end(`hello ${identity.attributes.family_name}`),
      onError: (_req, res, error) => res.writeHead(400).end(`${error.code} ${error.caseReference ?? ''}`),
    });
    const port = await serve((req, res) => void (req.url!.startsWith('/login') ? login(req, res) : callback(req, res)));
    const started = await fetch(`http://127.0.0.1:${port}/login`, { redirect: 'manual' });
    expect(started.status).toBe(303);
    const setCookie = started.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/HttpOnly; SameSite=Lax; Secure$/);
    const cookie = setCookie.split(';')[0]!;
    const back = op.authorize(new URL(started.headers.get('location')!));
    // The registered redirect URI is https://service.example; the test reaches the same path locally.
    const ok = await fetch(`http://127.0.0.1:${port}${back.pathname}${back.search}`, { headers: { cookie } });
    expect(await ok.text()).toBe('hello Okafor');

    const second = await fetch(`http://127.0.0.1:${port}/login`, { redirect: 'manual' });
    const failed = op.errorRedirect(new URL(second.headers.get('location')!), { error: 'access_denied', error_reason: 'no_match', case_ref: 'K7QM-2XPD-9RTB' });
    const refused = await fetch(`http://127.0.0.1:${port}${failed.pathname}${failed.search}`, { headers: { cookie: second.headers.get('set-cookie')!.split(';')[0]! } });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toBe('no_match K7QM-2XPD-9RTB');
  });
});

describe('sign-in routes: parallel sign-ins and post/redirect/get', () => {
  const cookieKey = 'a-test-cookie-key-of-at-least-32-characters';
  const servers: Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));
  const cookieOf = (r: Response) => r.headers.getSetCookie().map((c) => c.split(';')[0]!);
  /** A tiny cookie jar, as a browser keeps: the latest value per name, deleted when emptied. */
  const jar = () => {
    const cookies = new Map<string, string>();
    return {
      take(r: Response) {
        for (const c of cookieOf(r)) {
          const [name, value] = [c.slice(0, c.indexOf('=')), c.slice(c.indexOf('=') + 1)];
          if (value) cookies.set(name, value);
          else cookies.delete(name);
        }
      },
      header: () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
      names: () => [...cookies.keys()],
    };
  };

  async function koaService(results: string[]) {
    const port = await freePort();
    const key = await newKey();
    op.clientKeys = [...op.clientKeys, key.publicJwk];
    const base = `http://127.0.0.1:${port}`;
    const c = await createBrokerClient({ issuer: op.issuer, clientId: CLIENT_ID, redirectUri: `${base}/callback`, privateKey: key.privateJwk, allowInsecureRequests: true });
    const app = new Koa();
    let n = 0;
    app.use(
      koaBrokerLogin<Koa.Context>(c, {
        cookieKey,
        vtr: 'Cl.Cm.P2',
        attributes: ['given_name'],
        onSuccess: (_ctx, identity) => (results.push(`ok ${identity.journeyReference}`), `/result/${++n}`),
        onError: (_ctx, error) => (results.push(`error ${error.code}`), `/result/${++n}`),
      }),
    );
    app.use((ctx) => void (ctx.body = `page ${ctx.path}`));
    const server = app.listen(port, '127.0.0.1');
    servers.push(server);
    await new Promise((r) => server.once('listening', r));
    return base;
  }

  it('two sign-ins in one browser (two tabs) both finish, in either order: one cookie per sign-in, keyed by its state', async () => {
    const results: string[] = [];
    const base = await koaService(results);
    const browser = jar();
    const first = await fetch(`${base}/login`, { redirect: 'manual', headers: { cookie: browser.header() } });
    browser.take(first);
    const second = await fetch(`${base}/login`, { redirect: 'manual', headers: { cookie: browser.header() } });
    browser.take(second);
    expect(browser.names()).toHaveLength(2);
    // The second tab finishes first, then the first: both get their identity.
    for (const started of [second, first]) {
      const done = await fetch(op.authorize(started.headers.get('location')!), { redirect: 'manual', headers: { cookie: browser.header() } });
      browser.take(done);
      expect(done.status).toBe(303);
    }
    expect(results).toEqual(['ok JRN-TEST-0001', 'ok JRN-TEST-0001']);
  });

  it('the callback redirects (303) to the page onSuccess/onError names; refreshing it or going Back to it leads there again, without a second callback or an error', async () => {
    const results: string[] = [];
    const base = await koaService(results);
    const browser = jar();
    const login = await fetch(`${base}/login`, { redirect: 'manual' });
    browser.take(login);
    const callback = op.authorize(login.headers.get('location')!);
    const done = await fetch(callback, { redirect: 'manual', headers: { cookie: browser.header() } });
    browser.take(done);
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/result/1');
    expect(done.headers.get('cache-control')).toBe('no-store');
    for (let i = 0; i < 2; i++) {
      const again = await fetch(callback, { redirect: 'manual', headers: { cookie: browser.header() } });
      expect(again.status).toBe(303);
      expect(again.headers.get('location')).toBe('/result/1');
    }
    expect(results).toEqual(['ok JRN-TEST-0001']);

    // A cancelled sign-in: refresh keeps the cancellation's page, never "could not be finished".
    const cancelledLogin = await fetch(`${base}/login`, { redirect: 'manual', headers: { cookie: browser.header() } });
    browser.take(cancelledLogin);
    const cancelled = op.errorRedirect(cancelledLogin.headers.get('location')!, { error: 'access_denied', error_reason: 'cancelled' });
    const first = await fetch(cancelled, { redirect: 'manual', headers: { cookie: browser.header() } });
    browser.take(first);
    const refresh = await fetch(cancelled, { redirect: 'manual', headers: { cookie: browser.header() } });
    expect([first.headers.get('location'), refresh.headers.get('location')]).toEqual(['/result/2', '/result/2']);
    expect(results).toEqual(['ok JRN-TEST-0001', 'error cancelled']);

    // Another browser (no cookie) replaying the callback URL gets nothing but state_mismatch.
    const elsewhere = await fetch(callback, { redirect: 'manual' });
    expect(elsewhere.headers.get('location')).toBe('/result/3');
    expect(results.at(-1)).toBe('error state_mismatch');
  });

  it(`keeps at most ${MAX_PARALLEL_LOGINS} sign-ins in flight per browser: starting another drops the oldest`, async () => {
    const base = await koaService([]);
    const browser = jar();
    const started: Response[] = [];
    for (let i = 0; i < MAX_PARALLEL_LOGINS + 2; i++) {
      const r = await fetch(`${base}/login`, { redirect: 'manual', headers: { cookie: browser.header() } });
      browser.take(r);
      started.push(r);
      await new Promise((r) => setTimeout(r, 5)); // distinct creation times
    }
    expect(browser.names()).toHaveLength(MAX_PARALLEL_LOGINS);
    const stateOf = (r: Response) => new URL(r.headers.get('location')!).searchParams.get('state')!;
    expect(browser.names()).toEqual(expect.arrayContaining(started.slice(2).map((r) => transactionCookieName(stateOf(r)))));
  });

  it('Node handlers: the callback redirects 303 to the returned path, keeping the cookies the callback set (the service\'s session)', async () => {
    const login = nodeLoginHandler(client, { cookieKey, vtr: 'Cl.Cm.P2', attributes: ['family_name'] });
    const callback = nodeCallbackHandler(client, {
      cookieKey,
      onSuccess: (_req, res) => (res.setHeader('set-cookie', 'session=abc; Path=/; HttpOnly'), '/account'),
      onError: () => '/problem',
    });
    const port = await freePort();
    const server = createServer((req, res) => void (req.url!.startsWith('/login') ? login(req, res) : callback(req, res)));
    servers.push(server);
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    const started = await fetch(`http://127.0.0.1:${port}/login`, { redirect: 'manual' });
    const back = op.authorize(started.headers.get('location')!);
    const path = `http://127.0.0.1:${port}${back.pathname}${back.search}`;
    const done = await fetch(path, { redirect: 'manual', headers: { cookie: cookieOf(started)[0]! } });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/account');
    const set = cookieOf(done);
    expect(set).toContain('session=abc');
    const marker = set.find((c) => c.startsWith('broker_login.'))!;
    expect(marker.split('=')[1]).not.toBe('');
    const again = await fetch(path, { redirect: 'manual', headers: { cookie: marker } });
    expect([again.status, again.headers.get('location')]).toEqual([303, '/account']);
  });
});

describe('openCase', () => {
  it('refuses what it cannot send: no private key, no journey reference, an unknown reason', async () => {
    const withSecret = await createBrokerClient({ issuer: op.issuer, clientId: CLIENT_ID, redirectUri, clientSecret: 'a-local-secret-of-some-length', allowInsecureRequests: true });
    await expect(withSecret.openCase({ journeyReference: 'AAAA-BBBB-CCCC-D', reason: 'no_match' })).rejects.toThrow(/privateKey/);
    await expect(client.openCase({ journeyReference: '', reason: 'no_match' })).rejects.toThrow(TypeError);
    await expect(client.openCase({ journeyReference: 'AAAA-BBBB-CCCC-D', reason: 'because' as never })).rejects.toThrow(/reason/);
  });

  it('a broker that refuses the request is invalid_response (the fake broker has no case endpoint: 404)', async () => {
    expect(await codeOf(client.openCase({ journeyReference: 'AAAA-BBBB-CCCC-D', reason: 'no_match' }))).toBe('invalid_response');
  });
});
