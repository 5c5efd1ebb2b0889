/**
 * compose.yaml cannot run here (no Docker engine), so it is checked against the code: every
 * build context and Dockerfile exists and is multi-stage, non-root and without dev
 * dependencies; every environment variable is one the code reads; every port the policies'
 * URLs need is published; the proxy sends to the ports the brokers listen on.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadPolicies } from '@idbroker/policies';

const root = resolve(import.meta.dirname, '../..');
const compose = parse(readFileSync(join(root, 'compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, { build?: { context: string; dockerfile: string }; environment?: Record<string, string>; ports?: string[]; command?: string[]; network_mode?: string; depends_on?: string[]; image?: string }>;
};
const services = compose.services;

/** All TypeScript source of a folder, as one string. */
function sourceOf(...dirs: string[]): string {
  let text = '';
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (name === 'node_modules' || name.endsWith('.test.ts')) continue;
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) text += readFileSync(p, 'utf8');
    }
  };
  for (const d of dirs) walk(join(root, d));
  return text;
}

const codeOfPart: Record<string, string> = {
  'broker/Dockerfile': sourceOf('broker/src'),
  'idp-stub/Dockerfile': sourceOf('idp-stub/src'),
  'relying-party-sdk/Dockerfile': sourceOf('relying-party-sdk/examples', 'relying-party-sdk/src'),
};

describe('compose.yaml', () => {
  it('has Redis with append-only persistence, two brokers behind a proxy, the IdP stubs and the example service', () => {
    expect(Object.keys(services).sort()).toEqual(['broker-1', 'broker-2', 'example-service', 'idp-stubs', 'proxy', 'redis']);
    expect(services.redis!.command).toEqual(expect.arrayContaining(['--appendonly', 'yes', '--maxmemory-policy', 'noeviction']));
  });

  it.each(Object.entries(services).filter(([, s]) => s.build))('%s: builds from a multi-stage, non-root Dockerfile without dev dependencies', (_name, service) => {
    const { context, dockerfile } = service.build!;
    expect(existsSync(join(root, context))).toBe(true);
    const file = join(root, context, dockerfile);
    expect(existsSync(file), dockerfile).toBe(true);
    const text = readFileSync(file, 'utf8');
    expect(text.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/npm ci --omit=dev/);
    const user = text.match(/^USER (\S+)/m)?.[1];
    expect(user).toBeTruthy();
    expect(user).not.toBe('root');
    for (const [, src] of text.matchAll(/^COPY (?!--from)(\S+) /gm)) expect(existsSync(join(root, context, src!)), `COPY ${src}`).toBe(true);
    const cmd = JSON.parse(text.match(/^CMD (.+)$/m)![1]!) as string[];
    expect(existsSync(join(root, cmd.at(-1)!)), `CMD ${cmd.join(' ')}`).toBe(true);
    // tsx runs the TypeScript: it must be a production dependency.
    expect((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies.tsx).toBeTruthy();
  });

  it.each(Object.entries(services).filter(([, s]) => s.build && s.environment))('%s: every environment variable is one the code reads', (_name, service) => {
    const code = codeOfPart[service.build!.dockerfile]!;
    for (const name of Object.keys(service.environment!)) {
      if (name === 'NODE_ENV') continue;
      expect(code, `${name} is not read by ${service.build!.dockerfile}'s code`).toMatch(new RegExp(`\\b${name}\\b`));
    }
  });

  it('publishes every port the policies\' URLs use, and the proxy sends to the ports the brokers listen on', () => {
    const policies = loadPolicies(join(root, 'policies'));
    const published = services.proxy!.ports!.map((p) => Number(p.split(':')[0]));
    const needed = [
      Number(new URL(services['broker-1']!.environment!.BROKER_ISSUER!).port),
      ...policies.identityProviders.map((i) => Number(new URL(i.issuer).port)),
      ...policies.relyingParties.flatMap((r) => r.redirect_uris.map((u) => Number(new URL(u).port))),
    ];
    for (const port of needed) expect(published).toContain(port);
    const nginx = readFileSync(join(root, 'deploy/nginx.conf'), 'utf8');
    const upstream = [...nginx.matchAll(/server 127\.0\.0\.1:(\d+)/g)].map((m) => m[1]);
    expect(upstream.sort()).toEqual([services['broker-1']!.environment!.PORT, services['broker-2']!.environment!.PORT].sort());
    expect(nginx).toContain(`listen ${new URL(services['broker-1']!.environment!.BROKER_ISSUER!).port};`);
  });

  it('both brokers share one Redis and one secret, and trust the proxy', () => {
    const b1 = services['broker-1']!.environment!;
    const b2 = services['broker-2']!.environment!;
    expect(b1.REDIS_URL).toBe(b2.REDIS_URL);
    expect(b1.BROKER_SECRET).toBe(b2.BROKER_SECRET);
    expect(b1.BROKER_ISSUER).toBe(b2.BROKER_ISSUER);
    expect(b1.TRUST_PROXY).toBe('true');
    for (const s of ['redis', 'broker-1', 'broker-2', 'idp-stubs', 'example-service']) expect(services[s]!.network_mode).toBe('service:proxy');
    for (const s of Object.values(services)) for (const d of s.depends_on ?? []) expect(services[d], d).toBeTruthy();
  });
});
