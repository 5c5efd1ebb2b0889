/**
 * The benchmark's baseline: a bare OpenID Provider (oidc-provider, the version the broker uses)
 * doing one authorization code flow per journey, on the same Redis as the broker, with a login
 * page that checks nothing expensive (no password hash) and no consent page. This is what a
 * plain OIDC sign-in costs a provider: the honest reference for "one brokered journey for the CPU
 * of one bare flow" (issue 16). The broker runs one such flow towards the service, plus a client
 * flow towards the IdP, matching, two pages and its journey.
 *
 * Like the broker towards services: one client with private_key_jwt (ES256, the example service's
 * dev key), PKCE S256 required, ES256 ID tokens, the claims parameter, userinfo, cookies signed.
 * Unlike it: a public subject, plain claims, records as JSON (not sealed), no templates.
 *
 * The Redis adapter follows oidc-provider's example adapter (example/adapters/redis.js): one
 * MULTI per upsert (record, uid index, grant index), GET per find, consumable records as hashes.
 *
 * Environment: PORT, ISSUER, REDIS_URL (all required), REDIS_KEY_PREFIX (default `bare:`),
 * CLIENT_REDIRECT_URI (default http://localhost:3200/callback).
 */
import { createServer, type IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import Provider, { type Adapter, type AdapterPayload, type Configuration } from 'oidc-provider';
import { exportJWK, generateKeyPair } from 'jose';
import { defaultPoliciesDir } from '@idbroker/policies';

const port = Number(process.env.PORT);
const issuer = process.env.ISSUER;
const redisUrl = process.env.REDIS_URL;
if (!port || !issuer || !redisUrl) throw new Error('bench/bare-provider.ts needs PORT, ISSUER and REDIS_URL');
const prefix = process.env.REDIS_KEY_PREFIX ?? 'bare:';
const redirectUri = process.env.CLIENT_REDIRECT_URI ?? 'http://localhost:3200/callback';

// The broker's client settings (auto-pipelining: commands of concurrent requests issued in one tick
// go out in one write), so the baseline is not handicapped by a client option.
const redis = new Redis(redisUrl, { keyPrefix: prefix, maxRetriesPerRequest: 2, enableAutoPipelining: true });
/** Client-side counts for the bench (GET /bench-stats): a MULTI counts as one round trip. */
const stats = { roundTrips: 0, commands: 0 };
const sent = (commands: number) => {
  stats.roundTrips += 1;
  stats.commands += commands;
};

const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);
const CONSUMABLE = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);
const grantKey = (id: string) => `grant:${id}`;
const uidKey = (uid: string) => `uid:${uid}`;

class RedisAdapter implements Adapter {
  constructor(private readonly name: string) {}
  private key(id: string) {
    return `${this.name}:${id}`;
  }
  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    const key = this.key(id);
    const multi = redis.multi();
    if (CONSUMABLE.has(this.name)) multi.hset(key, { payload: JSON.stringify(payload) });
    else multi.set(key, JSON.stringify(payload));
    if (expiresIn) multi.expire(key, expiresIn);
    if (GRANTABLE.has(this.name) && payload.grantId) {
      multi.rpush(grantKey(payload.grantId), key);
      multi.expire(grantKey(payload.grantId), expiresIn, 'GT');
      multi.expire(grantKey(payload.grantId), expiresIn, 'NX');
    }
    if (payload.uid) {
      multi.set(uidKey(payload.uid), id);
      if (expiresIn) multi.expire(uidKey(payload.uid), expiresIn);
    }
    sent(multi.length + 2);
    await multi.exec();
  }
  async find(id: string): Promise<AdapterPayload | undefined> {
    sent(1);
    if (CONSUMABLE.has(this.name)) {
      const data = await redis.hgetall(this.key(id));
      if (!data.payload) return undefined;
      return { ...(JSON.parse(data.payload) as AdapterPayload), ...(data.consumed ? { consumed: Number(data.consumed) } : {}) };
    }
    const data = await redis.get(this.key(id));
    return data ? (JSON.parse(data) as AdapterPayload) : undefined;
  }
  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    sent(1);
    const id = await redis.get(uidKey(uid));
    return id ? this.find(id) : undefined;
  }
  async findByUserCode(): Promise<AdapterPayload | undefined> {
    return undefined;
  }
  async consume(id: string): Promise<void> {
    sent(1);
    await redis.hset(this.key(id), 'consumed', Math.floor(Date.now() / 1000));
  }
  async destroy(id: string): Promise<void> {
    sent(1);
    await redis.del(this.key(id));
  }
  async revokeByGrantId(grantId: string): Promise<void> {
    sent(1);
    const keys = await redis.lrange(grantKey(grantId), 0, -1);
    const multi = redis.multi();
    for (const k of keys) multi.del(k);
    multi.del(grantKey(grantId));
    sent(multi.length + 2);
    await multi.exec();
  }
}

const serviceKey = JSON.parse(readFileSync(resolve(defaultPoliciesDir, 'dev-keys/example-service.public.jwk.json'), 'utf8')) as Record<string, unknown>;
const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: 'bare-1', alg: 'ES256', use: 'sig' };

/** The demo person's claims, as plain claims (no verified_claims nesting, nothing looked up). */
const CLAIMS = { given_name: 'Margaret', family_name: 'Okafor', birthdate: '1961-04-12', address: { formatted: '10 Bench Street, Cardiff' } };

const configuration: Configuration = {
  adapter: RedisAdapter,
  clients: [
    {
      client_id: 'bench-service',
      redirect_uris: [redirectUri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      id_token_signed_response_alg: 'ES256',
      jwks: { keys: [serviceKey as never] },
    },
  ],
  jwks: { keys: [signingKey as never] },
  cookies: { keys: [randomBytes(32).toString('base64url')], long: { httpOnly: true, sameSite: 'lax' }, short: { httpOnly: true, sameSite: 'lax' } },
  pkce: { required: () => true },
  responseTypes: ['code'],
  scopes: ['openid', 'profile', 'address'],
  claims: { openid: ['sub'], profile: ['given_name', 'family_name', 'birthdate'], address: ['address'] },
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: false },
    claimsParameter: { enabled: true },
    userinfo: { enabled: true },
    revocation: { enabled: false },
    introspection: { enabled: false },
  },
  enabledJWA: { idTokenSigningAlgValues: ['ES256'], clientAuthSigningAlgValues: ['ES256'] },
  clientAuthMethods: ['private_key_jwt'],
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { Interaction: 3600, Session: 3600, Grant: 3600, AuthorizationCode: 60, AccessToken: 600, IdToken: 600 },
  async findAccount(_ctx, accountId) {
    return { accountId, claims: async () => ({ sub: accountId, ...CLAIMS }) };
  },
};

const provider = new Provider(issuer, configuration);
provider.on('server_error', (_ctx, err) => process.stderr.write(`bare provider server error: ${String((err as Error).stack ?? err)}\n`));
const oidc = provider.callback();

const html = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > 16_384) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0]!;
  if (path === '/bench-stats') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(stats));
    return;
  }
  const m = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(path);
  if (!m) return void oidc(req, res);
  void (async () => {
    try {
      const details = await provider.interactionDetails(req, res);
      if (details.uid !== m[1]) throw new Error('interaction does not match the URL');
      if (req.method === 'GET' && !m[2]) {
        // The login page: a form, nothing else (no templates, no CSRF beyond the interaction cookie).
        res.setHeader('content-type', 'text/html; charset=utf-8');
        res.setHeader('cache-control', 'no-store');
        res.end(
          `<!doctype html><html lang="en"><head><title>Sign in</title></head><body><h1>Sign in</h1>` +
            `<form id="sign-in" method="post" action="/interaction/${html(details.uid)}/login">` +
            `<label>Username <input name="username"></label><label>Password <input type="password" name="password"></label>` +
            `<button type="submit">Continue</button></form></body></html>`,
        );
        return;
      }
      if (req.method === 'POST' && m[2]) {
        const form = await readForm(req);
        const username = form.get('username') ?? '';
        // A login that does no password hashing: any non-empty password for a known name.
        if (username !== 'margaret' || !form.get('password')) {
          res.statusCode = 400;
          res.end('unknown user or empty password');
          return;
        }
        const accountId = `bench-${username}`;
        const params = details.params as Record<string, string | undefined>;
        const grant = new provider.Grant({ accountId, clientId: String(params.client_id) });
        grant.addOIDCScope(String(params.scope ?? 'openid'));
        grant.addOIDCClaims(['sub', ...Object.keys(CLAIMS)]);
        const grantId = await grant.save();
        await provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
        return;
      }
      res.statusCode = 405;
      res.end();
    } catch (e) {
      if (!res.headersSent) res.statusCode = 400;
      res.end(`interaction failed: ${(e as Error).message}`);
    }
  })();
});
server.keepAliveTimeout = 5_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`bare provider listening on ${port}\n`));
const stop = () => {
  server.close(() => void redis.quit().finally(() => process.exit(0)));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2_000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
