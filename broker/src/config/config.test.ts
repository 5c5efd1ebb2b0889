import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { generateKeyPair, exportJWK } from 'jose';
import { assertProductionSafe, configFromEnv, ConfigError, devSigningKeyFile, parseConfig } from './config.js';

const devKey = JSON.parse(readFileSync(devSigningKeyFile, 'utf8')) as Record<string, unknown>;

async function prodKey() {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: 'prod-2026-11', alg: 'ES256' } as Record<string, unknown>;
}

describe('broker configuration', () => {
  it('has working defaults for the local federation', () => {
    const config = configFromEnv({});
    expect(config.issuer).toBe('http://localhost:3000');
    expect(config.allowInsecureIdps).toBe(true);
    expect(config.production).toBe(false);
    expect(config.signingKeys[0]!.kid).toBe('broker-signing-dev-1');
  });

  it('reads a rotating key set file (current first, then next) and IdP issuer overrides', async () => {
    const { initialKeySet } = await import('./keys.js');
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const set = await initialKeySet();
    const file = join(mkdtempSync(join(tmpdir(), 'keys-')), 'keys.json');
    writeFileSync(file, JSON.stringify(set));
    const config = configFromEnv({ BROKER_SIGNING_KEYS_FILE: file, IDP_ISSUER_OVERRIDES: '{"civic-id":"http://127.0.0.1:4101"}' });
    expect(config.signingKeys.map((k) => k.kid)).toEqual([set.current.kid, set.next!.kid]);
    expect(config.idpIssuerOverrides).toEqual({ 'civic-id': 'http://127.0.0.1:4101' });
    expect(() => configFromEnv({ IDP_ISSUER_OVERRIDES: '{oops' })).toThrow(/IDP_ISSUER_OVERRIDES: not valid JSON/);
  });

  it('chooses the store from the environment: one node, a Cluster or Sentinel, naming a bad variable', () => {
    expect(configFromEnv({ REDIS_CLUSTER_NODES: 'redis://10.0.0.1:7000,redis://10.0.0.2:7000' }).redisCluster).toEqual({ nodes: ['redis://10.0.0.1:7000', 'redis://10.0.0.2:7000'] });
    expect(configFromEnv({ REDIS_SENTINELS: '10.0.0.1:26379', REDIS_SENTINEL_NAME: 'broker' }).redisSentinel).toEqual({ sentinels: ['10.0.0.1:26379'], name: 'broker' });
    expect(() => configFromEnv({ REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'redis://b:2' })).toThrow(/REDIS_URL and REDIS_CLUSTER_NODES: set only one/);
  });

  it('names the setting that is wrong', () => {
    expect(() => parseConfig({ issuer: 'not a url', signingKeys: [devKey] })).toThrow(/issuer: /);
    expect(() => parseConfig({ secret: 'short', signingKeys: [devKey] })).toThrow(/secret: must be at least 32 characters/);
    expect(() => configFromEnv({ BROKER_SIGNING_KEY_FILE: '/nonexistent.json' })).toThrow(/BROKER_SIGNING_KEY_FILE \(\/nonexistent.json\)/);
  });

  it('production mode refuses each unsafe setting, naming it', () => {
    const config = configFromEnv({ NODE_ENV: 'production' });
    let message = '';
    try {
      assertProductionSafe(config, [{ file: 'identity-providers/civic-id.yaml', jwk: { kid: 'broker-idp-client-dev-1', d: 'x' } }]);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      message = (e as Error).message;
    }
    expect(message).toContain('BROKER_ISSUER (http://localhost:3000): must be an https URL');
    expect(message).toContain('BROKER_SECRET: the development secret');
    expect(message).toContain('BROKER_SIGNING_KEY_FILE: a development signing key');
    expect(message).toContain('ALLOW_INSECURE_IDPS');
    expect(message).toContain('TRUST_PROXY: must be true in production');
    expect(message).toContain('REDIS_URL (or REDIS_CLUSTER_NODES, or REDIS_SENTINELS): the in-memory store cannot be used');
    expect(message).toContain('identity-providers/civic-id.yaml (broker_client.private_key)');
    // /metrics counts journeys by provider and by service: in production only operators read it.
    expect(message).toContain('METRICS_TOKEN: must be set in production');
    expect(message).toContain('AUDIT_CHECKPOINT_KEYS_FILE: the development audit checkpoint key');
  });

  it('production mode refuses http identity provider issuers, from a policy or an override, naming each (issue 13)', async () => {
    const config = parseConfig({
      issuer: 'https://broker.example.gov.uk',
      secret: 'a-long-random-secret-for-production-use-0123',
      signingKeys: [await prodKey()],
      auditCheckpointKeys: [await prodKey()],
      redisUrl: 'redis://redis.internal:6379',
      trustProxy: true,
      production: true,
      metricsToken: 'a-long-random-metrics-token-0123',
      idpIssuerOverrides: { 'swift-verify': 'http://10.0.0.7:3102' },
    });
    const jwk = await prodKey();
    const idps = [
      { file: 'identity-providers/civic-id.yaml', jwk, id: 'civic-id', issuer: 'http://localhost:3101' },
      { file: 'identity-providers/swift-verify.yaml', jwk, id: 'swift-verify', issuer: 'https://swift.example' },
      { file: 'identity-providers/community-vouch.yaml', jwk, id: 'community-vouch', issuer: 'https://vouch.example' },
    ];
    let message = '';
    try {
      assertProductionSafe(config, idps);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      message = (e as Error).message;
    }
    expect(message).toContain('identity-providers/civic-id.yaml (issuer http://localhost:3101): identity provider issuers must be https URLs in production');
    expect(message).toContain('IDP_ISSUER_OVERRIDES (swift-verify: http://10.0.0.7:3102)');
    expect(message).not.toContain('community-vouch');
    expect(() => assertProductionSafe({ ...config, idpIssuerOverrides: {} }, idps.slice(1))).not.toThrow();
  });

  it('a production broker with the shipped (http) IdP issuers does not start (issue 13)', async () => {
    const { createBroker } = await import('../app.js');
    const { loadPolicies, defaultPoliciesDir } = await import('@idbroker/policies');
    const { mkdtempSync, writeFileSync, cpSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { parse, stringify } = await import('yaml');
    // The shipped policies with a production broker client key, so the issuer is the only IdP problem.
    const dir = mkdtempSync(join(tmpdir(), 'idb-prod-policies-'));
    cpSync(defaultPoliciesDir, dir, { recursive: true, filter: (src) => !src.includes('node_modules') && !src.endsWith('/src') });
    writeFileSync(join(dir, 'dev-keys/prod-client.jwk.json'), JSON.stringify(await prodKey()));
    for (const id of ['civic-id', 'swift-verify', 'community-vouch']) {
      const file = join(dir, 'identity-providers', `${id}.yaml`);
      const doc = parse(readFileSync(file, 'utf8')) as { broker_client: Record<string, unknown> };
      writeFileSync(file, stringify({ ...doc, broker_client: { ...doc.broker_client, private_key: { file: 'dev-keys/prod-client.jwk.json' } } }));
    }
    const config = parseConfig({
      issuer: 'https://broker.example.gov.uk',
      secret: 'a-long-random-secret-for-production-use-0123',
      signingKeys: [await prodKey()],
      auditCheckpointKeys: [await prodKey()],
      redisUrl: 'redis://127.0.0.1:1',
      trustProxy: true,
      production: true,
      metricsToken: 'a-long-random-metrics-token-0123',
      policiesDir: dir,
    });
    const started = await createBroker(config, { policies: loadPolicies(dir) }).then(
      async (b) => (await b.close(), 'started'),
      (e: unknown) => e,
    );
    expect(started).toBeInstanceOf(ConfigError);
    const message = (started as Error).message;
    expect(message).toMatch(/^Refusing to start in production mode:/);
    expect(message).toContain('identity-providers/civic-id.yaml (issuer http://localhost:3101)');
    expect(message).not.toContain('broker_client.private_key');
  });

  it('production mode starts with safe settings', async () => {
    const config = parseConfig({
      issuer: 'https://broker.example.gov.uk',
      secret: 'a-long-random-secret-for-production-use-0123',
      signingKeys: [await prodKey()],
      auditCheckpointKeys: [await prodKey()],
      redisUrl: 'redis://redis.internal:6379',
      trustProxy: true,
      production: true,
      metricsToken: 'a-long-random-metrics-token-0123',
    });
    const idpKey = await prodKey();
    expect(() => assertProductionSafe(config, [{ file: 'identity-providers/civic-id.yaml', jwk: idpKey }])).not.toThrow();
  });
});
