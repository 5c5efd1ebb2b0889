/**
 * The shipped nginx configurations (issue 13): one public name each (server_name, and a default
 * server that refuses any other), a fixed Host to the broker, no client-sent X-Forwarded-Host or
 * Forwarded passed on, and in production TLS with HSTS. Read as text (nginx itself is not needed
 * to run the suite).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const read = (name: string) => readFileSync(join(root, 'deploy', name), 'utf8').replace(/#.*$/gm, '');

/** The top-level `server { ... }` blocks of the http block. */
function servers(conf: string): string[] {
  const out: string[] = [];
  const re = /\bserver\s*\{/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(conf))) {
    let depth = 1;
    let i = m.index + m[0].length;
    for (; i < conf.length && depth > 0; i++) {
      if (conf[i] === '{') depth++;
      else if (conf[i] === '}') depth--;
    }
    out.push(conf.slice(m.index, i));
    re.lastIndex = i;
  }
  return out;
}

const directive = (block: string, name: string) => [...block.matchAll(new RegExp(`^\\s*${name}\\s+((?:"[^"]*"|[^;"])+);`, 'gm'))].map((m) => m[1]!.trim());

for (const [file, publicName, fixedHost] of [
  ['nginx.conf', 'localhost', 'localhost:3000'],
  ['nginx.production.conf', 'broker.example.gov.uk', 'broker.example.gov.uk'],
] as const) {
  describe(`deploy/${file}`, () => {
    const conf = read(file);
    const blocks = servers(conf);
    const proxying = blocks.filter((b) => /proxy_pass\s/.test(b));

    it('answers for its public name only: every proxying server names it, and a default server refuses other names', () => {
      expect(proxying.length).toBeGreaterThan(0);
      for (const b of proxying) {
        expect(directive(b, 'server_name')).toEqual([publicName]);
        expect(directive(b, 'listen').some((l) => l.includes('default_server'))).toBe(false);
      }
      const ports = new Set(blocks.flatMap((b) => directive(b, 'listen').map((l) => l.split(/\s+/)[0])));
      for (const port of ports) {
        const defaults = blocks.filter((b) => directive(b, 'listen').some((l) => l.split(/\s+/)[0] === port && l.includes('default_server')));
        expect(defaults, `default server on ${port}`).toHaveLength(1);
        expect(directive(defaults[0]!, 'server_name')).toEqual(['_']);
        expect(/return\s+(421|444);|ssl_reject_handshake\s+on;/.test(defaults[0]!), `default server on ${port} refuses`).toBe(true);
      }
    });

    it('sends the broker a fixed Host, and never a client-sent X-Forwarded-Host or Forwarded', () => {
      for (const b of proxying) {
        const set = directive(b, 'proxy_set_header');
        expect(set).toContain(`Host ${fixedHost}`);
        expect(set).toContain('X-Forwarded-Host ""');
        expect(set).toContain('Forwarded ""');
        expect(set.join('\n')).not.toMatch(/\$(http_host|host|http_x_forwarded_host)\b/);
        expect(set).toContain('X-Forwarded-For $proxy_add_x_forwarded_for');
      }
    });
  });
}

describe('deploy/nginx.production.conf: TLS and HSTS', () => {
  const conf = read('nginx.production.conf');
  const blocks = servers(conf);

  it('the public name is served over TLS with HSTS (a year, subdomains, on every answer), one header only', () => {
    const main = blocks.find((b) => /proxy_pass\s/.test(b))!;
    expect(directive(main, 'listen')).toEqual(['443 ssl']);
    const hsts = directive(main, 'add_header').find((h) => h.startsWith('Strict-Transport-Security'));
    expect(hsts).toBeDefined();
    expect(Number(/max-age=(\d+)/.exec(hsts!)![1])).toBeGreaterThanOrEqual(31_536_000);
    expect(hsts).toContain('includeSubDomains');
    expect(hsts).toMatch(/\balways$/);
    expect(directive(main, 'proxy_hide_header')).toContain('Strict-Transport-Security');
    expect(directive(main, 'proxy_set_header')).toContain('X-Forwarded-Proto https');
    expect(directive(main, 'ssl_protocols')).toEqual(['TLSv1.2 TLSv1.3']);
  });

  it('plain http for the public name only redirects to https', () => {
    const http = blocks.filter((b) => directive(b, 'listen').some((l) => l.startsWith('80')) && directive(b, 'server_name')[0] !== '_');
    expect(http).toHaveLength(1);
    expect(directive(http[0]!, 'return')).toEqual(['301 https://broker.example.gov.uk$request_uri']);
  });
});
