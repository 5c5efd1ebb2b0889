/**
 * An independent client in the suite (issue 13): Python's Authlib (Debian's python3-authlib, at
 * /usr/bin/python3; .ci/run installs it) drives whole journeys as an ordinary service would, as a
 * client_secret_basic service and as a private_key_jwt service: discovery, PKCE S256, its own ID
 * token checks against the JWKS, userinfo, and the error paths. The citizen's browser steps are
 * the scripted citizen's; the Python client makes the authorization request and redeems the code.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPoliciesDir } from '@idbroker/policies';
import { startFederation, type Federation, type TestService } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';
import { BrowserClient } from '../support/browser-client.js';
import { BASIC_SERVICE, BASIC_SERVICE_SECRET, SECOND_SERVICE, SECRET_FILES } from '../support/policies.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = resolve(import.meta.dirname, 'authlib_client.py');
const SERVICE_KEY = resolve(defaultPoliciesDir, 'dev-keys/example-service.private.jwk.json');

type Line = Record<string, unknown> & { step: string };

/** The Python client as a child process: JSON lines out, the callback URL in. */
class AuthlibClient {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Line[] = [];
  private waiting: ((line: Line) => void) | undefined;
  private stderr = '';
  private exited: Promise<number | null>;

  constructor(options: Record<string, unknown>) {
    this.child = spawn(PYTHON, [SCRIPT, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    createInterface({ input: this.child.stdout }).on('line', (text) => {
      const line = JSON.parse(text) as Line;
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w(line);
      } else this.lines.push(line);
    });
    this.exited = new Promise((done) => this.child.on('exit', (code) => done(code)));
  }

  /** The next line the client prints (its failure, with stderr, fails the test). */
  async next(): Promise<Line> {
    const line =
      this.lines.shift() ??
      (await Promise.race([
        new Promise<Line>((done) => (this.waiting = done)),
        this.exited.then((code) => ({ step: 'exited', code, stderr: this.stderr }) as Line),
      ]));
    if (line.step === 'failed' || line.step === 'exited') throw new Error(`the Authlib client stopped: ${JSON.stringify(line)} ${this.stderr}`);
    return line;
  }

  send(text: string): void {
    this.child.stdin.write(`${text}\n`);
  }

  async close(): Promise<number | null> {
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

type Verified = { verification: Record<string, unknown>; claims: Record<string, unknown> };

describe('Authlib (Python) as a service', () => {
  let fed: Federation;
  const clients: AuthlibClient[] = [];
  beforeAll(async () => {
    fed = await startFederation({
      idps: ['civic-id'],
      policyChanges: { extraRps: { 'example-library-card': BASIC_SERVICE, 'example-voter-registration': SECOND_SERVICE }, files: SECRET_FILES },
    });
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await fed?.close();
  });

  function client(options: Record<string, unknown>): AuthlibClient {
    const c = new AuthlibClient({ issuer: fed.issuer, ...options });
    clients.push(c);
    return c;
  }

  /** A citizen who lands at the service's redirect URI (the Python client is the service). */
  function citizenFor(redirectUri: string): Citizen {
    const citizen = new Citizen(fed);
    citizen.service = { redirectUri } as TestService;
    return citizen;
  }

  async function journey(py: AuthlibClient, redirectUri: string, username = 'margaret'): Promise<Line> {
    const { url } = (await py.next()) as Line & { url: string };
    const authorize = new URL(url);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('nonce')).toBeTruthy();
    const citizen = citizenFor(redirectUri);
    const picker = await citizen.visit(authorize);
    expect(picker).toMatchObject({ kind: 'page', status: 200 });
    await citizen.verifyWith('civic-id', username);
    const back = await citizen.consent('approve');
    expect(back.kind).toBe('service');
    py.send((back as { url: URL }).url.href);
    const result = await py.next();
    expect(await py.close()).toBe(0);
    return result;
  }

  it('a client_secret_basic service asking with scope=openid profile, as ordinary clients do', async () => {
    const redirectUri = BASIC_SERVICE.redirect_uris[0]!;
    const py = client({ client_id: BASIC_SERVICE.client_id, redirect_uri: redirectUri, auth: 'client_secret_basic', secret: BASIC_SERVICE_SECRET, scope: 'openid profile' });
    const result = await journey(py, redirectUri);
    expect(result.alg).toBe('ES256');
    expect(result.token_type).toMatch(/^bearer$/i);
    const idToken = result.id_token as Record<string, unknown>;
    expect(idToken.iss).toBe(fed.issuer);
    expect(idToken.aud).toBe(BASIC_SERVICE.client_id);
    expect(idToken.vot).toBe('Cl.Cm.P2');
    expect((idToken.verified_claims as Verified).claims).toEqual({ given_name: 'Margaret', family_name: 'Okafor', birthdate: '1958-03-14' });
    expect((result.userinfo as Record<string, unknown>).sub).toBe(idToken.sub);
    // The error paths, each as Authlib meets them.
    expect(result.wrong_credential).toBe('invalid_client');
    expect(result.replayed_code).toBe('invalid_grant');
    expect(result.tampered).toBe('BadSignatureError');
    expect(result.other_nonce).toBe('InvalidClaimError');
  });

  it('a private_key_jwt service (ES256 key) asking for verified claims at userinfo with the claims parameter', async () => {
    const redirectUri = SECOND_SERVICE.redirect_uris[0]!;
    const claims = { userinfo: { verified_claims: { verification: { trust_framework: null }, claims: { given_name: null, birthdate: null } } } };
    const py = client({ client_id: SECOND_SERVICE.client_id, redirect_uri: redirectUri, auth: 'private_key_jwt', key_file: SERVICE_KEY, scope: 'openid', extra: { claims: JSON.stringify(claims), vtr: '["Cl.Cm.P2"]' } });
    const result = await journey(py, redirectUri);
    const idToken = result.id_token as Record<string, unknown>;
    expect(idToken.aud).toBe(SECOND_SERVICE.client_id);
    expect(idToken.verified_claims).toBeUndefined();
    const userinfo = result.userinfo as Record<string, unknown>;
    expect(userinfo.sub).toBe(idToken.sub);
    expect((userinfo.verified_claims as Verified).verification.trust_framework).toBe('uk_diatf');
    expect((userinfo.verified_claims as Verified).claims).toEqual({ given_name: 'Margaret', birthdate: '1958-03-14' });
    expect(result.wrong_credential).toBe('invalid_client');
    expect(result.replayed_code).toBe('invalid_grant');
  });

  it('a request outside the service\'s policy comes back to Authlib as an OIDC error, with its state and the broker\'s iss', async () => {
    const redirectUri = SECOND_SERVICE.redirect_uris[0]!;
    const py = client({ client_id: SECOND_SERVICE.client_id, redirect_uri: redirectUri, auth: 'private_key_jwt', key_file: SERVICE_KEY, extra: { vtr: '["Cl"]' } });
    const { url } = (await py.next()) as Line & { url: string };
    const response = await new BrowserClient().fetch(url);
    expect(response.status).toBe(303);
    py.send(new URL(response.headers.get('location')!).href);
    const result = await py.next();
    expect(result.authorization_error).toBe('invalid_request');
    expect(String(result.error_description)).toMatch(/below this service's minimum/);
    expect(await py.close()).toBe(0);
  });

  it('a citizen who cancels comes back to Authlib as access_denied with the journey reference', async () => {
    const redirectUri = BASIC_SERVICE.redirect_uris[0]!;
    const py = client({ client_id: BASIC_SERVICE.client_id, redirect_uri: redirectUri, auth: 'client_secret_basic', secret: BASIC_SERVICE_SECRET, scope: 'openid profile' });
    const { url } = (await py.next()) as Line & { url: string };
    const citizen = citizenFor(redirectUri);
    await citizen.visit(new URL(url));
    await citizen.verifyWith('civic-id', 'margaret');
    const failed = await citizen.consent('cancel');
    expect(failed.kind).toBe('page');
    const back = await citizen.press('return');
    expect(back.kind).toBe('service');
    py.send((back as { url: URL }).url.href);
    const result = await py.next();
    expect(result.authorization_error).toBe('access_denied');
    expect(String(result.txn)).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]$/);
    expect(await py.close()).toBe(0);
  });
});
