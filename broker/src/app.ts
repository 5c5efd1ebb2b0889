/**
 * Assembly: one Koa app with the journey, health and assets in front, and the OpenID
 * Provider (itself a Koa app) behind them. Every part is built here from configuration.
 */
import { randomUUID } from 'node:crypto';
import type { Server, ServerResponse } from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import { pino, type Logger, type DestinationStream } from 'pino';
import type Provider from 'oidc-provider';
import type { JWK } from 'jose';
import { loadPolicies, providerText, type Policies } from '@idbroker/policies';
import { assertProductionSafe, devAuditCheckpointKeyFile, readKeyFile, type BrokerConfig } from './config/config.js';
import { createPolicyHolder, type PolicyHolder } from './config/policy-holder.js';
import { createStore, type Store } from './store/index.js';
import { createOidcAdapter, oidcKeys, OidcRecords } from './store/oidc-adapter.js';
import type { WriteOp } from './store/types.js';
import { createSealer, deriveKey } from './crypto/seal.js';
import { createAuditTrail, publicJwk, type AuditTrail } from './audit/index.js';
import { IdentityProviders } from './upstream/index.js';
import { createViews, resolveLocale, type Views } from './views/index.js';
import { createProvider, type DeliveredClaims } from './oidc/provider.js';
import { Journeys } from './journey/journeys.js';
import { journeyRoutes } from './journey/routes.js';
import { createConsentReceipts } from './journey/consent-receipt.js';
import { InvalidJourneyState } from './journey/transitions.js';
import { createMatcher } from './matching/index.js';
import { PublicError } from './errors.js';
import { createMetrics, type Metrics } from './metrics/index.js';
import { publishRow } from './metrics/performance.js';
import { dateInWords, performanceCertifications } from './views/certification.js';
import { createSupport, type Support } from './support/index.js';
import { certificationExpired } from './upstream/index.js';
import { WalletVerifier } from './wallet/verifier.js';
import { walletJourney } from './wallet/routes.js';
import { returnedIdentity } from './journey/returned.js';

export interface BrokerDependencies {
  /** The clock (epoch ms): journey expiry, certification expiry, token times. */
  now?: () => number;
  /** Where logs go (tests capture them to prove no personal data is logged). Default stdout. */
  logDestination?: DestinationStream;
  /** Policies already loaded. Default: loaded from config.policiesDir. Fixed unless `loadPolicies` is given too. */
  policies?: Policies;
  /**
   * How to load the policies again when they change (e.g. `npm start` moves them to its ports).
   * Default: loadPolicies(config.policiesDir), unless fixed `policies` were given.
   */
  loadPolicies?: () => Policies;
}

export interface Broker {
  readonly config: BrokerConfig;
  readonly app: Koa;
  readonly provider: Provider;
  readonly store: Store;
  readonly audit: AuditTrail;
  readonly upstream: IdentityProviders;
  /** The policy in force (follows every accepted change: see `policy`). */
  readonly policies: Policies;
  /** The holder of the policy in force: reload (SIGHUP), version. */
  readonly policy: PolicyHolder;
  readonly logger: Logger;
  readonly views: Views;
  readonly metrics: Metrics;
  readonly support: Support;
  /** Listen on config.port (0: a free port). Resolves with the URL. */
  listen(port?: number): Promise<string>;
  /** Stop taking requests, finish those in flight, close the store. */
  close(): Promise<void>;
}

export async function createBroker(config: BrokerConfig, deps: BrokerDependencies = {}): Promise<Broker> {
  const now = deps.now ?? Date.now;
  const logger = pino(
    {
      level: config.logLevel,
      base: { service: 'broker' },
      redact: {
        paths: ['req.headers.cookie', 'req.headers.authorization', 'headers.cookie', 'headers.authorization', '*.claims', '*.verified_claims', '*.value', '*.password'],
        censor: '[redacted]',
      },
    },
    deps.logDestination,
  );
  const load = deps.loadPolicies ?? (deps.policies ? undefined : () => loadPolicies(config.policiesDir));
  const productionSafe = (p: Policies) =>
    assertProductionSafe(
      config,
      p.identityProviders.map((idp) => {
        let jwk: Record<string, unknown> = {};
        try {
          jwk = JSON.parse(p.readSecret(idp.broker_client.private_key)) as Record<string, unknown>;
        } catch {
          // Unreadable keys are reported by the policy loader.
        }
        return { file: `identity-providers/${idp.id}.yaml`, jwk, id: idp.id, issuer: idp.issuer };
      }),
    );
  const initialPolicies = deps.policies ?? load!();
  productionSafe(initialPolicies);
  // One holder of the policy in force; every part below reads it through `policies` (a live view).
  const policy = createPolicyHolder({ initial: initialPolicies, ...(load ? { load } : {}), check: productionSafe, logger });
  const policies = policy.policies;
  for (const w of policies.warnings) logger.warn({ file: w.file, field: w.field }, w.message);

  const store = createStore({
    ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}),
    ...(config.redisCluster ? { redisCluster: config.redisCluster } : {}),
    ...(config.redisSentinel ? { redisSentinel: config.redisSentinel } : {}),
    keyPrefix: config.keyPrefix,
    now,
    logger,
  });
  const sealer = createSealer(deriveKey(config.secret, 'journey-state'));
  // Audit checkpoints are signed with a key kept out of the store (development default:
  // policies/dev-keys, refused in production), exported as log lines and to a file.
  const auditKeys = (config.auditCheckpointKeys ?? readKeyFile(devAuditCheckpointKeyFile, 'AUDIT_CHECKPOINT_KEYS_FILE')) as JWK[];
  const audit = createAuditTrail({
    store,
    now,
    logger,
    retentionDays: policies.broker.audit.retention_days,
    ...(config.auditChain ? { chain: config.auditChain } : {}),
    checkpoints: {
      signingKey: auditKeys[0]!,
      trustedKeys: auditKeys.map(publicJwk),
      ...(config.auditCheckpointFile ? { file: config.auditCheckpointFile } : {}),
      intervalMs: config.auditCheckpointIntervalSeconds * 1000,
    },
  });
  const views = createViews();
  const ttlSeconds = policies.broker.journey.ttl_minutes * 60;
  const secureCookies = config.issuer.startsWith('https://');

  const upstream = IdentityProviders.create({
    policies,
    brokerIssuer: config.issuer,
    issuerOverrides: config.idpIssuerOverrides,
    allowInsecureRequests: config.allowInsecureIdps,
    now: () => new Date(now()),
    health: { intervalMs: config.health.intervalMs, timeoutMs: config.health.timeoutMs },
    requestTimeoutMs: config.idpTimeoutMs,
    logger,
  });

  const deliveryKey = (grantId: string) => `delivery:{${grantId}}`;
  // OIDC records a request already read (the journey reads the interaction with its state).
  const oidcRecords = new OidcRecords();
  const userinfoKey = (grantId: string) => `userinfo:{${grantId}}`;
  const provider = createProvider({
    issuer: config.issuer,
    policies,
    signingKeys: config.signingKeys,
    cookieKeys: [Buffer.from(deriveKey(config.secret, 'cookies')).toString('base64url')],
    pairwiseKey: deriveKey(config.secret, 'pairwise-subject'),
    // A Cluster writes per hash slot: there the adapter keeps its index-then-record order.
    adapter: createOidcAdapter(store, { sealer: createSealer(deriveKey(config.secret, 'oidc-records')), oneWrite: !config.redisCluster, records: oidcRecords }),
    journeyTtlSeconds: ttlSeconds,
    trustProxy: config.trustProxy,
    logger,
    async takeDelivery(grantId) {
      const sealed = await store.take(deliveryKey(grantId));
      return sealed ? sealer.open<DeliveredClaims>(sealed, deliveryKey(grantId)) : undefined;
    },
    async keepForUserinfo(grantId, claims, ttl) {
      await store.set(userinfoKey(grantId), sealer.seal(claims, userinfoKey(grantId)), ttl);
    },
    async takeForUserinfo(grantId) {
      const sealed = await store.take(userinfoKey(grantId));
      return sealed ? sealer.open<NonNullable<DeliveredClaims['verified_claims']>>(sealed, userinfoKey(grantId)) : undefined;
    },
    useOnce: (key, ttl) => store.setIfAbsent(key, '1', ttl),
    // At the code's redemption: the session (found by its uid index), the code and the grant's
    // shorter life in one write after one read, instead of reading and deleting each in turn.
    endAtRedemption: {
      records: oidcRecords,
      async end(sessionUid, ops) {
        const uidKey = sessionUid ? oidcKeys.uid('Session', sessionUid) : undefined;
        const sessionId = uidKey ? await store.get(uidKey) : null;
        const ends: WriteOp[] = [];
        if (sessionId) ends.push({ op: 'del', key: oidcKeys.record('Session', sessionId) });
        if (uidKey) ends.push({ op: 'del', key: uidKey });
        await store.write([...ops, ...ends]);
      },
    },
    async renderError(ctx, out, error) {
      const errorId = randomUUID();
      logger.warn({ errorId, error: out.error, description: out.error_description, name: error.name }, 'authorization request refused');
      views.render(
        ctx as unknown as Koa.Context,
        'error',
        { status: ctx.status || 400, errorId, title: 'bad_request', ...(out.error_description ? { detail: out.error_description } : {}) },
        { status: ctx.status || 400, locale: resolveLocale(ctx as unknown as Koa.Context) },
      );
    },
  });
  provider.on('server_error', (_ctx, err) => logger.error({ err }, 'oidc-provider server error'));

  const daysLeft = (date: string) => Math.floor((new Date(`${date}T23:59:59Z`).getTime() - now()) / 86_400_000);
  const metrics = createMetrics({
    store,
    now,
    logger,
    idpHealth: () => policies.identityProviders.map((p) => ({ idp: p.id, up: upstream.healthOf(p.id).state === 'closed' })),
    // Wallets hold certificates too (as holder service providers): the same series, by provider id.
    certification: () => [...policies.identityProviders, ...policies.walletProviders].map((p) => ({ idp: p.id, daysLeft: daysLeft(p.certification_expires) })),
    serviceKeys: () => policies.relyingParties.filter((r) => r.keys_expire).map((r) => ({ service: r.client_id, daysLeft: daysLeft(r.keys_expire!) })),
    ...(store.stats ? { storeStats: store.stats.bind(store) } : {}),
  });
  const threshold = (left: number) => (left <= 3 ? 3 : left <= 14 ? 14 : left <= 30 ? 30 : undefined);
  // Warn as certifications approach their end (30, 14 and 3 days), once a day per provider (IdPs and wallets).
  const warnCertifications = () => {
    for (const p of [...policies.identityProviders, ...policies.walletProviders]) {
      const left = daysLeft(p.certification_expires);
      if (certificationExpired(p, new Date(now()))) logger.warn({ idp: p.id, expired: p.certification_expires }, 'IdP certification has ended: it is not offered');
      else if (threshold(left)) logger.warn({ idp: p.id, daysLeft: left, threshold: threshold(left) }, 'IdP certification ends soon');
      if (p.certification.register.status !== 'listed') logger.warn({ idp: p.id }, 'IdP certificate withdrawn from the register: it is not offered');
      // The yearly surveillance audit: due a year after the last one.
      const due = new Date(new Date(`${p.certification.last_surveillance_audit}T00:00:00Z`).getTime() + 365 * 86_400_000).toISOString().slice(0, 10);
      const auditLeft = daysLeft(due);
      if (auditLeft < 0) logger.warn({ idp: p.id, due }, 'IdP surveillance audit overdue');
      else if (threshold(auditLeft)) logger.warn({ idp: p.id, daysLeft: auditLeft, threshold: threshold(auditLeft) }, 'IdP surveillance audit due soon');
    }
    for (const r of policies.relyingParties) {
      if (!r.keys_expire) continue;
      const left = daysLeft(r.keys_expire);
      if (left < 0) logger.warn({ service: r.client_id, expired: r.keys_expire }, 'service keys have expired');
      else if (threshold(left)) logger.warn({ service: r.client_id, daysLeft: left, threshold: threshold(left) }, 'service keys expire soon');
    }
  };
  warnCertifications();
  const certTimer = setInterval(warnCertifications, 24 * 3600 * 1000);
  certTimer.unref();

  const journeys = new Journeys({ store, sealer, audit, ttlSeconds, now, observer: metrics });
  const signingKey = config.signingKeys[0] as JWK;
  // Tokens exchanged with services are judged by the wall clock, not the journey clock.
  const matcher = createMatcher({ issuer: config.issuer, policies, signingKey, logger });

  const app = new Koa();
  app.proxy = config.trustProxy;
  // Of X-Forwarded-For, only the last address is one the proxy in front saw: it appends it to
  // whatever the client sent (nginx's $proxy_add_x_forwarded_for), so nothing before it may
  // decide who a request comes from (rate limits key on ctx.ip).
  app.maxIpsCount = 1;

  // Production is https only (an https issuer is required): browsers are told never to use
  // plain http for this host, on every response (the broker's pages and the provider's).
  if (config.production) {
    app.use(async (ctx, next) => {
      ctx.set('Strict-Transport-Security', HSTS);
      await next();
    });
  }

  // Every cookie is Secure when the citizen's browser reaches the broker over https: an https
  // issuer (TLS ends at a proxy in front, trusted or not), or a trusted proxy saying so.
  app.use(async (ctx, next) => {
    if (secureCookies || ctx.secure) secureEveryCookie(ctx.cookies);
    await next();
  });

  // Errors: a page with an error id for people; the detail only in the logs.
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const errorId = randomUUID();
      const e = err as Error & { status?: number };
      const publicError =
        e instanceof PublicError
          ? e
          : e instanceof InvalidJourneyState
            ? new PublicError(400, 'bad_request', e.message)
            : new PublicError(500, 'server_error', e.message);
      const level = publicError.status >= 500 ? 'error' : 'warn';
      logger[level]({ errorId, status: publicError.status, detail: publicError.detail, name: e.name, ...(publicError.status >= 500 ? { stack: e.stack } : {}) }, 'request failed');
      views.render(ctx, 'error', { status: publicError.status, errorId, title: publicError.title, ...(publicError.ended ? { ended: publicError.ended } : {}) }, { status: publicError.status, locale: resolveLocale(ctx) });
    }
  });

  // Access log and latency without query strings (codes, states) and without personal data.
  app.use(async (ctx, next) => {
    const started = process.hrtime.bigint();
    await next();
    if (ctx.path === '/healthz' || ctx.path === '/metrics' || ctx.path.startsWith('/assets/')) return;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const route = (ctx as unknown as { _matchedRoute?: string })._matchedRoute ?? ctx.path.replace(/\/[A-Za-z0-9_-]{16,}/g, '/:id');
    // oidc-provider answers outside Koa's response cycle: its status is on the raw response.
    const status = ctx.respond === false ? ctx.res.statusCode : ctx.status;
    metrics.observeRequest(String(route), ctx.method, status, seconds);
    logger.info({ method: ctx.method, path: ctx.path.replace(/\/journey\/[^/]+/, '/journey/:uid'), status, ms: seconds * 1000 }, 'request');
  });

  // The OpenID Provider's own endpoints (discovery, authorize and its resume, PAR, token, JWKS,
  // userinfo) go to it straight from here: past HSTS, Secure cookies, the error page, the access
  // log and latency metrics above, and not through the assets, the routers of the pages and the
  // support desk below (none of which has a route on these paths).
  const oidc = provider.callback();
  app.use(async (ctx, next) => {
    if (!OIDC_PATHS.test(ctx.path)) return next();
    ctx.respond = false;
    const open = OPEN_TO_BROWSERS[ctx.path];
    if (open) {
      // Public, the same for everyone, and changed only by a deployment or a key rotation
      // (the next key is published well before it signs).
      if (ctx.method === 'GET' || ctx.method === 'HEAD') ctx.res.setHeader('Cache-Control', open.cacheControl);
    } else {
      withoutCors(ctx.res);
    }
    await oidc(ctx.req, ctx.res);
  });

  app.use(views.assets);

  const ops = new Router();
  ops.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  ops.get('/readyz', async (ctx) => {
    try {
      await store.ping();
      ctx.body = { status: 'ready', store: store.kind };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'not ready', store: store.kind };
    }
  });
  ops.get('/metrics', async (ctx) => {
    if (config.metricsToken && ctx.get('authorization') !== `Bearer ${config.metricsToken}`) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Bearer');
      return;
    }
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  // Closed UTC days only, small figures hidden, failures by who caused them (metrics/performance.ts).
  ops.get('/performance', async (ctx) => {
    const { minimum_journeys: minimum, days } = policies.broker.performance;
    const closed = await metrics.closedDays(policies.identityProviders.map((p) => p.id), days);
    const locale = resolveLocale(ctx);
    const inWords = (date: string) => dateInWords(date, locale);
    views.render(
      ctx,
      'performance',
      {
        from: inWords(closed.from),
        to: inWords(closed.to),
        minimum,
        rows: closed.rows.map((r) => {
          const { idp: _idp, ...figures } = publishRow(r.idp, r.outcomes, minimum);
          return { name: policies.identityProvider(r.idp)?.display_name ?? r.idp, ...figures };
        }),
        certifications: performanceCertifications([...policies.identityProviders, ...policies.walletProviders], locale, (p) => providerText(p, locale).name),
      },
      { locale },
    );
  });
  ops.get('/trustmark', (ctx) => {
    ctx.body = {
      idp: config.issuer,
      trustmark_provider: config.issuer,
      C: [...new Set(policies.levels.authentication.flatMap((a) => a.id.split('.')))],
      P: policies.levels.confidence.map((c) => c.id),
    };
  });
  app.use(ops.routes());

  const support = createSupport({
    issuer: config.issuer,
    store,
    sealer: createSealer(deriveKey(config.secret, 'support-cases')),
    rateLimitKey: deriveKey(config.secret, 'rate-limit-keys'),
    audit,
    views,
    policies,
    now,
    metrics,
    secureCookies,
    logger,
  });
  app.use(support.router.routes());
  const stopPurge = support.startPurgeJob();

  const wallets = walletJourney({
    issuer: config.issuer,
    provider,
    policies,
    verifier: new WalletVerifier({ policies, brokerIssuer: config.issuer, now: () => new Date(now()), logger, allowInsecureUrls: config.allowInsecureIdps }),
    journeys,
    views,
    store,
    toReturned: (identity, journey) =>
      returnedIdentity(
        { providerId: identity.walletId, subject: identity.subject, achieved: identity.achieved, claims: identity.verifiedClaims.claims },
        journey,
        policies.levels,
        deriveKey(config.secret, 'internal-subject'),
      ),
  });
  app.use(wallets.router.routes());

  const journey = journeyRoutes({
    issuer: config.issuer,
    provider,
    policies,
    upstream,
    journeys,
    views,
    matcher,
    oidcRecords,
    subjectKeys: { internal: deriveKey(config.secret, 'internal-subject'), pairwise: deriveKey(config.secret, 'pairwise-subject') },
    deliveryWrite: (grantId, claims) => ({ key: deliveryKey(grantId), value: sealer.seal(claims, deliveryKey(grantId)), ttlSeconds: 600 }),
    secureCookies,
    idpIssuer: (id) => config.idpIssuerOverrides[id] ?? policies.identityProvider(id)?.issuer ?? config.issuer,
    support: support.journeySupport,
    receipts: createConsentReceipts({ issuer: config.issuer, signingKeys: config.signingKeys }),
    wallets,
  });
  app.use(journey.routes());
  app.use(journey.allowedMethods());

  // Any other path is a page a person may have typed: a proper "page not found", not a bare one.
  app.use(async (ctx) => {
    throw new PublicError(404, 'not_found', `no page at ${ctx.path}`);
  });

  let server: Server | undefined;
  upstream.start();
  if (config.watchPolicies) policy.watch();

  return {
    config,
    app,
    provider,
    store,
    audit,
    upstream,
    policies,
    policy,
    logger,
    views,
    metrics,
    support,
    async listen(port = config.port ?? (Number(new URL(config.issuer).port) || 3000)) {
      await new Promise<void>((resolve, reject) => {
        server = app.listen(port, config.host, () => resolve());
        server.once('error', reject);
      });
      server!.keepAliveTimeout = 5_000;
      const address = server!.address();
      const actual = typeof address === 'object' && address ? address.port : port;
      return `http://${config.host}:${actual}`;
    },
    async close() {
      policy.close();
      clearInterval(certTimer);
      stopPurge();
      await upstream.close();
      if (server) {
        const s = server;
        await new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeIdleConnections();
          setTimeout(() => s.closeAllConnections(), 5_000).unref();
        });
      }
      // The chain's last checkpoint, after the last request: what this instance wrote is covered.
      await audit.close().catch((error: unknown) => logger.error({ err: { message: (error as Error).message }, chain: audit.chain }, 'audit: final checkpoint failed'));
      await store.close();
    },
  };
}

const HSTS = 'max-age=31536000; includeSubDomains';

/**
 * What a browser may read cross-origin from the provider: discovery and the JWKS (public, for
 * in-browser verifiers and tools), with how long to cache them. Nothing else: services are
 * confidential clients calling the token, PAR and userinfo endpoints from their servers.
 */
const OPEN_TO_BROWSERS: Record<string, { cacheControl: string }> = {
  '/.well-known/openid-configuration': { cacheControl: 'public, max-age=3600' },
  '/jwks': { cacheControl: 'public, max-age=300' },
};

/** Drop every CORS header oidc-provider would set on this response (it sets them on all its endpoints). */
function withoutCors(res: ServerResponse): void {
  const setHeader = res.setHeader.bind(res);
  res.setHeader = ((name: string, value: number | string | readonly string[]) =>
    name.toLowerCase().startsWith('access-control-') ? res : setHeader(name, value)) as typeof res.setHeader;
}

/** oidc-provider's own endpoints (its default routes), passed to it untouched. */
const OIDC_PATHS = /^\/(\.well-known\/|auth(\/|$)|token(\/|$)|me$|jwks$|request$|session\/end|reg(\/|$)|device(\/|$)|backchannel$)/;

/**
 * Make every cookie set through `cookies` Secure, including when the hop from a TLS-terminating
 * proxy is plain http (the `cookies` module would otherwise refuse to send a Secure cookie).
 */
function secureEveryCookie(cookies: Koa.Context['cookies']): void {
  cookies.secure = true;
  const set = cookies.set.bind(cookies);
  cookies.set = (name, value, opts) => set(name, value, { ...opts, secure: true });
}
