/**
 * A whole local federation for a test: IdP stubs and one or more broker instances on free
 * ports, a clock the test can move, and the logs captured line by line.
 */
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { resolve } from 'node:path';
import * as client from 'openid-client';
import { defaultPoliciesDir } from '@idbroker/policies';
import { createBroker, parseConfig, type Broker, type BrokerConfig } from '@idbroker/broker';
import { startIdpStub, type IdpStub } from '@idbroker/idp-stub';
import { startWalletStub, type WalletStub } from '@idbroker/wallet-stub';
import { freePort } from './ports.js';
import { testPolicies, type PolicyChanges, type TestPolicies } from './policies.js';

export const DEMO_PASSWORD = 'demo-password';
const devKey = (name: string) => JSON.parse(readFileSync(resolve(defaultPoliciesDir, 'dev-keys', name), 'utf8')) as Record<string, unknown>;

export interface FederationOptions {
  /** Redis URL: the Redis store. Unset: the in-memory store (then only one broker instance). */
  redisUrl?: string;
  /** A Redis Cluster instead of one node. */
  redisCluster?: { nodes: string[] };
  /** Number of broker instances sharing the store (needs Redis for more than one). */
  brokers?: number;
  policyChanges?: PolicyChanges;
  /** Which IdPs to start (default: all in the policies). */
  idps?: string[];
  /**
   * The example service's matching URL. Unset: the service has no matching URL (it matches
   * after sign-in itself), so broker-only tests need no service running.
   */
  matchingUrl?: string;
  /** The brokers' signing keys (private JWKs, the first signs). Default: the development key. */
  signingKeys?: Record<string, unknown>[];
  /** Host name in the issuer URL. Default 127.0.0.1; browsers need 'localhost' for passkeys (an IP address is no WebAuthn RP ID). */
  issuerHost?: string;
  /** Where the broker's clock starts (default: now). The clock moves only when the test moves it. */
  clockStart?: Date;
  /**
   * 'https': the issuer is https://host:port, as behind a TLS-terminating proxy, while the brokers
   * still listen on plain http there (the test's service reaches them through a fetch that
   * speaks http to them; a test's browser plays the proxy). Default 'http'.
   */
  issuerScheme?: 'http' | 'https';
  /** Start a wallet stub for each wallet provider in the policies (default true). */
  wallets?: boolean;
  /** How long the brokers wait for an IdP's token and key requests (config idpTimeoutMs; default 10000). */
  idpTimeoutMs?: number;
}

export interface TestClock {
  now(): number;
  advance(ms: number): void;
}

export interface Federation {
  brokers: Broker[];
  /** The issuer (the first instance's URL). */
  issuer: string;
  /** Base URLs of every broker instance (same issuer, different ports). */
  brokerUrls: string[];
  idps: Record<string, IdpStub>;
  /** Wallet stubs by wallet provider id (their policy points at them). */
  wallets: Record<string, WalletStub>;
  policies: TestPolicies;
  clock: TestClock;
  /** Every log line of every broker instance, as written. */
  logs: string[];
  /** The log lines of each broker instance. */
  instanceLogs: string[][];
  /** An OpenID client for a service (default the example council tax service, with its dev key). */
  service(clientId?: string, redirectUri?: string): Promise<TestService>;
  /** Stop broker instance `i` and start it again on the same port, with configuration changes (e.g. rotated keys). */
  restartBroker(i: number, changes?: Partial<BrokerConfig>): Promise<Broker>;
  close(): Promise<void>;
}

export interface TestService {
  config: client.Configuration;
  redirectUri: string;
  begin(request?: { vtr?: string[]; acrValues?: string; attributes?: string[]; extra?: Record<string, string> }): Promise<{ url: URL; state: string; nonce: string; codeVerifier: string }>;
  finish(callback: URL, tx: { state: string; nonce: string; codeVerifier: string }): Promise<{ idToken: string; claims: Record<string, unknown>; userinfo: Record<string, unknown> }>;
}

export async function startFederation(options: FederationOptions = {}): Promise<Federation> {
  const count = options.brokers ?? 1;
  if (count > 1 && !options.redisUrl && !options.redisCluster) throw new Error('several broker instances need a shared Redis');
  let nowMs = options.clockStart?.getTime() ?? Date.now();
  const clock: TestClock = { now: () => nowMs, advance: (ms) => void (nowMs += ms) };

  const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
  const issuer = `${options.issuerScheme ?? 'http'}://${options.issuerHost ?? '127.0.0.1'}:${ports[0]}`;
  // With an https issuer, the service's requests reach the broker's plain http port (TLS would end at a proxy).
  const viaPlainHttp: client.CustomFetch = (url, init) => fetch(url.replace(/^https:/, 'http:'), init as RequestInit);
  const councilMatching = options.matchingUrl ? { matching: { url: options.matchingUrl, timeout_ms: 2000, extra_attribute: 'ni_number', account_creation: false } } : { matching: undefined };
  const base = testPolicies({
    ...options.policyChanges,
    rps: { ...options.policyChanges?.rps, 'example-council-tax': { ...councilMatching, ...options.policyChanges?.rps?.['example-council-tax'] } },
  });
  const initial = base.load();
  const wanted = options.idps ?? initial.identityProviders.map((i) => i.id);

  const brokerClientJwks = { keys: [devKey('broker-idp-client.public.jwk.json')] };
  const idps: Record<string, IdpStub> = {};
  const overrides: Record<string, string> = {};
  for (const policy of initial.identityProviders.filter((i) => wanted.includes(i.id))) {
    const port = await freePort();
    const stub = await startIdpStub({
      policy,
      levels: initial.levels,
      port,
      issuer: `http://127.0.0.1:${port}`,
      broker: { clientId: policy.broker_client.client_id, jwks: brokerClientJwks as never, redirectUris: [`${issuer}/idp/${policy.id}/callback`] },
      adminToken: 'test-admin-token',
    });
    idps[policy.id] = stub;
    overrides[policy.id] = stub.issuer;
  }

  const wallets: Record<string, WalletStub> = {};
  for (const policy of options.wallets === false ? [] : initial.walletProviders) {
    const stub = await startWalletStub({ host: '127.0.0.1' });
    wallets[policy.id] = stub;
    base.changeIdp(policy.id, {
      wallet: { ...policy.wallet, authorization_endpoint: stub.authorizationEndpoint },
      credential_issuers: policy.credential_issuers.map((ci, i) =>
        i === 0 ? { ...ci, issuer: stub.issuer, ...(ci.status_list ? { status_list: { ...ci.status_list, uri_prefix: stub.statusListPrefix } } : {}) } : ci,
      ),
      certification_expires: policy.certification_expires,
    });
  }

  const logs: string[] = [];
  const instanceLogs: string[][] = [];
  const logTo = (own: string[]) =>
    new Writable({
      write(chunk, _enc, cb) {
        logs.push(String(chunk));
        own.push(String(chunk));
        cb();
      },
    });

  const keyPrefix = `t${Math.random().toString(36).slice(2, 8)}:`;
  const brokers: Broker[] = [];
  const brokerUrls: string[] = [];
  for (const port of ports) {
    const config = parseConfig({
      issuer,
      port,
      ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
      ...(options.redisCluster ? { redisCluster: options.redisCluster } : {}),
      keyPrefix,
      policiesDir: base.dir,
      secret: 'test-secret-test-secret-test-secret-0001',
      signingKeys: options.signingKeys ?? [devKey('broker-signing.private.jwk.json')],
      allowInsecureIdps: true,
      idpIssuerOverrides: overrides,
      logLevel: 'info',
      health: { intervalMs: 60_000, timeoutMs: 1_000 },
      ...(options.idpTimeoutMs ? { idpTimeoutMs: options.idpTimeoutMs } : {}),
    });
    // Policies are read from disk at each broker's start, so a test can change them before.
    const own: string[] = [];
    instanceLogs.push(own);
    const broker = await createBroker(config, { now: clock.now, logDestination: logTo(own) });
    brokerUrls.push(await broker.listen(port));
    brokers.push(broker);
  }

  const services = new Map<string, TestService>();
  async function service(clientId = 'example-council-tax', redirectUri = 'http://localhost:3200/callback'): Promise<TestService> {
    const key = `${clientId} ${redirectUri}`;
    const existing = services.get(key);
    if (existing) return existing;
    const privateKey = await crypto.subtle.importKey(
      'jwk',
      devKey('example-service.private.jwk.json') as JsonWebKey,
      { name: 'ECDSA', namedCurve: 'P-256' },
      false,
      ['sign'],
    );
    const config = await client.discovery(
      new URL(issuer),
      clientId,
      { id_token_signed_response_alg: 'ES256' },
      client.PrivateKeyJwt({ key: privateKey, kid: String(devKey('example-service.private.jwk.json').kid) }),
      issuer.startsWith('https:') ? { [client.customFetch]: viaPlainHttp } : { execute: [client.allowInsecureRequests] },
    );
    if (issuer.startsWith('https:')) config[client.customFetch] = viaPlainHttp;
    client.enableNonRepudiationChecks(config);
    const svc: TestService = {
      config,
      redirectUri,
      async begin(request = {}) {
        const codeVerifier = client.randomPKCECodeVerifier();
        const state = client.randomState();
        const nonce = client.randomNonce();
        const params: Record<string, string> = {
          redirect_uri: redirectUri,
          scope: 'openid',
          response_type: 'code',
          code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
          code_challenge_method: 'S256',
          state,
          nonce,
        };
        if (request.vtr) params.vtr = JSON.stringify(request.vtr);
        if (request.acrValues) params.acr_values = request.acrValues;
        const attributes = request.attributes ?? ['given_name', 'family_name', 'birthdate', 'address'];
        if (attributes.length) {
          params.claims = JSON.stringify({
            id_token: { verified_claims: { verification: { trust_framework: null }, claims: Object.fromEntries(attributes.map((a) => [a, null])) } },
          });
        }
        Object.assign(params, request.extra ?? {});
        return { url: client.buildAuthorizationUrl(config, params), state, nonce, codeVerifier };
      },
      async finish(callback, tx) {
        const tokens = await client.authorizationCodeGrant(config, callback, {
          pkceCodeVerifier: tx.codeVerifier,
          expectedState: tx.state,
          expectedNonce: tx.nonce,
          idTokenExpected: true,
        });
        const claims = tokens.claims() as Record<string, unknown>;
        const userinfo = (await client.fetchUserInfo(config, tokens.access_token, String(claims.sub))) as Record<string, unknown>;
        return { idToken: tokens.id_token!, claims, userinfo };
      },
    };
    services.set(key, svc);
    return svc;
  }

  return {
    brokers,
    issuer,
    brokerUrls,
    idps,
    wallets,
    policies: base,
    clock,
    logs,
    instanceLogs,
    service,
    async restartBroker(i, changes = {}) {
      const old = brokers[i]!;
      await old.close();
      const own = instanceLogs[i]!;
      const broker = await createBroker({ ...old.config, ...changes }, { now: clock.now, logDestination: logTo(own) });
      await broker.listen(old.config.port);
      brokers[i] = broker;
      return broker;
    },
    async close() {
      await Promise.allSettled(brokers.map((b) => b.close()));
      await Promise.allSettled(Object.values(idps).map((s) => s.close()));
      await Promise.allSettled(Object.values(wallets).map((s) => s.close()));
      base.remove();
    },
  };
}
