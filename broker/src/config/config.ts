/**
 * The broker's deployment configuration: one zod schema, its defaults and documentation,
 * validated at boot so that a bad setting fails at start, not at the first request.
 * (The trust framework itself lives in policies/, not here.)
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { defaultPoliciesDir } from '@idbroker/policies';
import { isKeySet, keysOf } from './keys.js';
import { storeOptionsFromEnv, type StoreOptions } from '../store/index.js';

const DEV_SECRET = 'dev-only-secret-do-not-use-in-production-0123456789';

export const configSchema = z.object({
  /** The broker's issuer identifier, as services see it. Default http://localhost:3000. */
  issuer: z.url().default('http://localhost:3000'),
  /** TCP port to listen on. Default: the issuer's port, or 3000. */
  port: z.number().int().min(0).max(65535).optional(),
  /** Host to bind. Default 127.0.0.1 (local federation). */
  host: z.string().default('127.0.0.1'),
  /** Redis URL (one node). Unset, with no cluster or Sentinel: the in-memory store (one process only, for local use). */
  redisUrl: z.string().optional(),
  /** A Redis Cluster (REDIS_CLUSTER_NODES). */
  redisCluster: z.object({ nodes: z.array(z.string()).min(1) }).optional(),
  /** A Redis master behind Sentinel (REDIS_SENTINELS, REDIS_SENTINEL_NAME). */
  redisSentinel: z.object({ sentinels: z.array(z.string()).min(1), name: z.string().min(1) }).optional(),
  /** Prefix for every store key (several brokers on one Redis in tests). */
  keyPrefix: z.string().default('idb:'),
  /** The trust framework folder. */
  policiesDir: z.string().default(defaultPoliciesDir),
  /**
   * Watch the policy folder and apply valid changes without a restart (POLICIES_WATCH=false: only
   * on SIGHUP). A change that does not validate is refused, named in the log; the old policy stays.
   */
  watchPolicies: z.boolean().default(true),
  /**
   * The broker's root secret (at least 32 characters): keys for cookies, journey encryption
   * and pairwise subjects are derived from it. Every instance of one broker must share it.
   */
  secret: z.string().min(32, 'must be at least 32 characters').default(DEV_SECRET),
  /** The private JWK (ES256) the broker signs ID tokens and matching requests with. */
  signingKeys: z.array(z.record(z.string(), z.unknown())).min(1),
  /**
   * The audit checkpoint keys (private ES256 JWKs, kept out of the store): the first signs this
   * instance's checkpoints, every one is trusted when checking them. Unset: the development key
   * (policies/dev-keys/audit-checkpoint.private.jwk.json), refused in production.
   */
  auditCheckpointKeys: z.array(z.record(z.string(), z.unknown())).min(1).optional(),
  /** Append-only file the signed audit checkpoints go to (one per line), for witnesses to copy. */
  auditCheckpointFile: z.string().min(1).optional(),
  /** How often this instance signs a checkpoint of its audit chain. Default 60 s. */
  auditCheckpointIntervalSeconds: z.number().positive().default(60),
  /** This instance's audit chain id (1-64 of [A-Za-z0-9._:-]). Default: host name + random suffix, a new chain per process. */
  auditChain: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1-64 characters of [A-Za-z0-9._:-]').optional(),
  /** Accept http:// identity provider issuers (local federation only). */
  allowInsecureIdps: z.boolean().default(false),
  /** IdP id -> issuer, overriding the policy (tests run IdP stubs on free ports). */
  idpIssuerOverrides: z.record(z.string(), z.string()).default({}),
  /** Trust X-Forwarded-* headers from a proxy in front (TLS termination). */
  trustProxy: z.boolean().default(false),
  /**
   * Production mode (NODE_ENV=production): the broker refuses to start with an http issuer,
   * development keys or secret, insecure IdP transport, the in-memory store, or no METRICS_TOKEN.
   */
  production: z.boolean().default(false),
  /**
   * Bearer token required to read /metrics. Unset: /metrics is open (local federation only;
   * production mode refuses to start without it).
   */
  metricsToken: z.string().min(16, 'must be at least 16 characters').optional(),
  /** pino log level. */
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * How long the broker waits for an identity provider's discovery, token and key requests
   * (whole seconds; rounded up). Beyond it the provider has failed (`idp.timeout`). IDP_TIMEOUT_MS.
   */
  idpTimeoutMs: z.number().int().min(1_000).max(60_000).default(10_000),
  /** IdP health checks. */
  health: z
    .object({ intervalMs: z.number().int().positive().default(15_000), timeoutMs: z.number().int().positive().default(2_000) })
    .default({ intervalMs: 15_000, timeoutMs: 2_000 }),
});

export type BrokerConfig = z.infer<typeof configSchema>;
export type BrokerConfigInput = z.input<typeof configSchema>;

export const devSigningKeyFile = resolve(defaultPoliciesDir, 'dev-keys/broker-signing.private.jwk.json');
export const devAuditCheckpointKeyFile = resolve(defaultPoliciesDir, 'dev-keys/audit-checkpoint.private.jwk.json');

/**
 * Every JWK of a key file: a key set `{ current, next, previous: [{ key }] }` (current first;
 * for audit checkpoints retired keys stay, as old checkpoints must still verify), a JWKS
 * `{ keys: [...] }`, or one JWK.
 */
export function readKeyFile(file: string, variable: string, options: { keepRetired?: boolean } = {}): Record<string, unknown>[] {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (isKeySet(parsed)) return options.keepRetired ? [parsed.current, ...(parsed.next ? [parsed.next] : []), ...(parsed.previous ?? []).map((p) => p.key)] : keysOf(parsed);
    if (Array.isArray((parsed as { keys?: unknown }).keys)) return (parsed as { keys: Record<string, unknown>[] }).keys;
    return [parsed as Record<string, unknown>];
  } catch (e) {
    throw new ConfigError(`${variable} (${file}): cannot read a JWK: ${(e as Error).message}`);
  }
}

export function isDevSecret(secret: string): boolean {
  return secret === DEV_SECRET;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Validate a configuration object; errors name the setting. */
export function parseConfig(input: BrokerConfigInput): BrokerConfig {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(
      `The broker configuration is not valid:\n${result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n')}`,
    );
  }
  return result.data;
}

/** Configuration from environment variables (documented in README and docs/operations.md). */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): BrokerConfig {
  // A key set file (current, next, previous: see keys.ts), a JWKS, or a single private JWK.
  const keyFile = env.BROKER_SIGNING_KEYS_FILE ?? env.BROKER_SIGNING_KEY_FILE ?? devSigningKeyFile;
  const keyVar = env.BROKER_SIGNING_KEYS_FILE ? 'BROKER_SIGNING_KEYS_FILE' : 'BROKER_SIGNING_KEY_FILE';
  const signingKeys = readKeyFile(keyFile, keyVar);
  const auditCheckpointKeys = readKeyFile(env.AUDIT_CHECKPOINT_KEYS_FILE || devAuditCheckpointKeyFile, 'AUDIT_CHECKPOINT_KEYS_FILE', { keepRetired: true });
  const issuer = env.BROKER_ISSUER ?? 'http://localhost:3000';
  let store: StoreOptions;
  try {
    store = storeOptionsFromEnv(env);
  } catch (e) {
    throw new ConfigError(`The store configuration is not valid: ${(e as Error).message}`);
  }
  return parseConfig({
    issuer,
    port: env.PORT ? Number(env.PORT) : undefined,
    host: env.HOST,
    ...(store.redisUrl ? { redisUrl: store.redisUrl } : {}),
    ...(store.redisCluster ? { redisCluster: store.redisCluster } : {}),
    ...(store.redisSentinel ? { redisSentinel: { sentinels: store.redisSentinel.sentinels, name: store.redisSentinel.name } } : {}),
    keyPrefix: store.keyPrefix,
    policiesDir: env.POLICIES_DIR,
    watchPolicies: env.POLICIES_WATCH ? env.POLICIES_WATCH !== 'false' : undefined,
    secret: env.BROKER_SECRET,
    signingKeys,
    auditCheckpointKeys,
    auditCheckpointFile: env.AUDIT_CHECKPOINT_FILE || undefined,
    auditCheckpointIntervalSeconds: env.AUDIT_CHECKPOINT_INTERVAL_SECONDS ? Number(env.AUDIT_CHECKPOINT_INTERVAL_SECONDS) : undefined,
    auditChain: env.AUDIT_CHAIN_ID || undefined,
    allowInsecureIdps: env.ALLOW_INSECURE_IDPS ? env.ALLOW_INSECURE_IDPS === 'true' : issuer.startsWith('http://localhost'),
    trustProxy: env.TRUST_PROXY === 'true',
    production: env.NODE_ENV === 'production',
    metricsToken: env.METRICS_TOKEN || undefined,
    idpIssuerOverrides: env.IDP_ISSUER_OVERRIDES ? parseJsonEnv('IDP_ISSUER_OVERRIDES', env.IDP_ISSUER_OVERRIDES) : undefined,
    logLevel: env.LOG_LEVEL as BrokerConfig['logLevel'] | undefined,
    idpTimeoutMs: env.IDP_TIMEOUT_MS ? Number(env.IDP_TIMEOUT_MS) : undefined,
  });
}

function parseJsonEnv(name: string, value: string): Record<string, string> {
  try {
    return JSON.parse(value) as Record<string, string>;
  } catch (e) {
    throw new ConfigError(`${name}: not valid JSON (${(e as Error).message})`);
  }
}

/** Development keys shipped in policies/dev-keys (public in the repository). */
export function isDevKey(jwk: Record<string, unknown>): boolean {
  return typeof jwk.kid === 'string' && jwk.kid.endsWith('-dev-1');
}

/**
 * In production, refuse every unsafe setting at once, each named, so an operator fixes them
 * in one go. `idpKeys` are the broker's client keys at the IdPs, read from the policies.
 */
export function assertProductionSafe(config: BrokerConfig, idpKeys: Array<{ file: string; jwk: Record<string, unknown>; id?: string; issuer?: string }> = []): void {
  if (!config.production) return;
  const problems: string[] = [];
  if (!config.issuer.startsWith('https://')) problems.push(`BROKER_ISSUER (${config.issuer}): must be an https URL in production`);
  if (isDevSecret(config.secret)) problems.push('BROKER_SECRET: the development secret cannot be used in production; set a random secret of 32+ characters');
  if (config.signingKeys.some(isDevKey)) problems.push('BROKER_SIGNING_KEY_FILE: a development signing key (policies/dev-keys) cannot be used in production');
  if (config.signingKeys.some((k) => typeof k.d !== 'string')) problems.push('BROKER_SIGNING_KEY_FILE: every signing key must be a private key');
  const auditKeys = config.auditCheckpointKeys ?? [];
  if (auditKeys.length === 0) problems.push('AUDIT_CHECKPOINT_KEYS_FILE: production needs an audit checkpoint key of its own (npm run keys -- init --file ...), kept out of the store');
  if (auditKeys.some(isDevKey)) problems.push('AUDIT_CHECKPOINT_KEYS_FILE: the development audit checkpoint key (policies/dev-keys) cannot be used in production');
  if (auditKeys[0] && typeof auditKeys[0].d !== 'string') problems.push('AUDIT_CHECKPOINT_KEYS_FILE: the first key must be a private key (it signs the checkpoints)');
  if (config.allowInsecureIdps) problems.push('ALLOW_INSECURE_IDPS: http identity providers cannot be allowed in production');
  // The broker speaks plain http: in production a TLS proxy is in front of it, and only its
  // X-Forwarded-For and -Proto tell the citizen's address (rate limits) and that the request
  // came over https. (Discovery and redirects name the issuer's URLs whatever the headers say.)
  if (!config.trustProxy) problems.push('TRUST_PROXY: must be true in production (the broker listens on plain http behind a TLS-terminating proxy; without it, every citizen looks like the proxy\'s address to the rate limits)');
  if (!config.redisUrl && !config.redisCluster && !config.redisSentinel) {
    problems.push('REDIS_URL (or REDIS_CLUSTER_NODES, or REDIS_SENTINELS): the in-memory store cannot be used in production (it is lost on restart and not shared between instances)');
  }
  // /metrics counts journeys by provider and by service, and shows the instance's traffic as it
  // happens: only operators may read it.
  if (!config.metricsToken) problems.push('METRICS_TOKEN: must be set in production (16+ characters); /metrics is for operators only');
  for (const { file, jwk, id, issuer } of idpKeys) {
    if (isDevKey(jwk)) problems.push(`${file} (broker_client.private_key): a development key cannot be used in production`);
    const override = id !== undefined ? config.idpIssuerOverrides[id] : undefined;
    if (override !== undefined && !override.startsWith('https://')) {
      problems.push(`IDP_ISSUER_OVERRIDES (${id}: ${override}): identity provider issuers must be https URLs in production`);
    } else if (override === undefined && issuer !== undefined && !issuer.startsWith('https://')) {
      problems.push(`${file} (issuer ${issuer}): identity provider issuers must be https URLs in production`);
    }
  }
  if (problems.length) throw new ConfigError(`Refusing to start in production mode:\n${problems.map((p) => `  ${p}`).join('\n')}`);
}
