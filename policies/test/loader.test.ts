import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultPoliciesDir, loadPolicies, PolicyError, type PolicyIssue } from '../src/index.js';

const copies: string[] = [];
function copy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'policies-'));
  cpSync(defaultPoliciesDir, dir, { recursive: true, filter: (s) => !s.endsWith('/src') && !s.endsWith('/test') });
  copies.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of copies.splice(0)) rmSync(d, { recursive: true, force: true });
});

function edit(dir: string, file: string, change: (text: string) => string) {
  const path = join(dir, file);
  writeFileSync(path, change(readFileSync(path, 'utf8')));
}

function issuesOf(dir: string): PolicyIssue[] {
  try {
    loadPolicies(dir, { now: new Date('2026-11-23') });
  } catch (e) {
    if (e instanceof PolicyError) return e.issues;
    throw e;
  }
  throw new Error('expected the policies to be refused');
}

describe('policies: the shipped files', () => {
  it('load without errors or warnings', () => {
    const p = loadPolicies(defaultPoliciesDir, { now: new Date('2026-11-23') });
    expect(p.identityProviders.map((i) => i.id).sort()).toEqual(['civic-id', 'community-vouch', 'swift-verify']);
    expect(p.identityProviders.some((i) => i.organisation_type !== 'company')).toBe(true);
    expect(p.relyingParty('example-council-tax')?.matching?.extra_attribute).toBe('ni_number');
    expect(p.warnings).toEqual([]);
  });

  it('npm run policies:check prints OK', () => {
    const out = execFileSync('npx', ['tsx', 'policies/src/cli.ts'], { encoding: 'utf8' });
    expect(out).toMatch(/^OK: .*3 identity providers, 1 services/m);
    }, 90_000); // npx tsx starts a process: over 30 s on two busy cores
});

describe('policies: a broken copy of each file names the file and the field', () => {
  it('levels.yaml: a rule naming an unknown level', () => {
    const dir = copy();
    edit(dir, 'levels.yaml', (t) => t.replace('confidence_at_least: P2', 'confidence_at_least: P7'));
    expect(issuesOf(dir)).toContainEqual({ file: 'levels.yaml', field: 'rules.0.confidence_at_least', message: 'unknown identity confidence "P7"' });
  });

  it('levels.yaml: an alias to a vector that breaks the rules', () => {
    const dir = copy();
    edit(dir, 'levels.yaml', (t) => t.replace('"urn:idbroker:loa:medium": Cl.Cm.P2', '"urn:idbroker:loa:medium": Cl.P2'));
    const issues = issuesOf(dir);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ file: 'levels.yaml', field: 'acr_aliases.urn:idbroker:loa:medium' });
    expect(issues[0]!.message).toMatch(/P2 and above needs authentication of at least Cl.Cm/);
  });

  it('identity-providers: unknown level, bad status, missing field, bad date', () => {
    const dir = copy();
    edit(dir, 'identity-providers/civic-id.yaml', (t) =>
      t.replace('confidence: P2', 'confidence: P9').replace('status: enabled', 'status: maybe').replace(/^display_name:.*$/m, '').replace('2028-03-31', '31/03/2028'),
    );
    const issues = issuesOf(dir).filter((i) => i.file === 'identity-providers/civic-id.yaml');
    const byField = Object.fromEntries(issues.map((i) => [i.field, i.message]));
    expect(byField.status).toBe('must be one of: enabled, suspended');
    expect(byField.display_name).toMatch(/is required/);
    expect(byField.certification_expires).toMatch(/YYYY-MM-DD/);
  });

  it('identity-providers: an unknown certified level (schema valid otherwise)', () => {
    const dir = copy();
    edit(dir, 'identity-providers/civic-id.yaml', (t) => t.replace('confidence: P2', 'confidence: P9'));
    expect(issuesOf(dir)).toContainEqual({
      file: 'identity-providers/civic-id.yaml',
      field: 'certified.confidence',
      message: 'unknown identity confidence "P9" (levels.yaml has P0, P1, P2, P3)',
    });
  });

  it('identity-providers: a duplicate issuer and an unreadable key', () => {
    const dir = copy();
    edit(dir, 'identity-providers/swift-verify.yaml', (t) => t.replace('http://localhost:3102', 'http://localhost:3101'));
    unlinkSync(join(dir, 'dev-keys/broker-idp-client.private.jwk.json'));
    const issues = issuesOf(dir);
    expect(issues).toContainEqual(expect.objectContaining({ file: 'identity-providers/swift-verify.yaml', field: 'issuer' }));
    expect(issues).toContainEqual(expect.objectContaining({ file: 'identity-providers/civic-id.yaml', field: 'broker_client.private_key' }));
  });

  it('identity-providers: an expired certification is a warning, not an error', () => {
    const dir = copy();
    edit(dir, 'identity-providers/community-vouch.yaml', (t) => t.replace('2027-06-30', '2026-01-31'));
    const p = loadPolicies(dir, { now: new Date('2026-11-23') });
    expect(p.warnings).toEqual([
      { file: 'identity-providers/community-vouch.yaml', field: 'certification_expires', message: 'certification expired on 2026-01-31: this provider will not be offered' },
    ]);
  });

  it('relying-parties: a redirect URI that is not a URL, an unknown attribute, an unknown field, a level below the minimum', () => {
    const dir = copy();
    edit(dir, 'relying-parties/example-council-tax.yaml', (t) =>
      t
        .replace('- http://localhost:3200/callback', '- not a url')
        .replace('- address', '- shoe_size')
        .replace('sector_identifier:', 'colour: blue\nsector_identifier:'),
    );
    const issues = issuesOf(dir);
    const file = 'relying-parties/example-council-tax.yaml';
    expect(issues).toContainEqual({ file, field: 'redirect_uris.0', message: 'must be an absolute URL' });
    expect(issues).toContainEqual(expect.objectContaining({ file, field: 'permitted_attributes.3' }));
    expect(issues).toContainEqual({ file, field: '', message: 'unknown field: colour' });
  });

  it('relying-parties: default level below the minimum, and a duplicate client id', () => {
    const dir = copy();
    edit(dir, 'relying-parties/example-council-tax.yaml', (t) => t.replace('minimum_level: Cl.P1', 'minimum_level: Cl.Cm.P2').replace('default_level: Cl.Cm.P2', 'default_level: Cl.P1'));
    writeFileSync(join(dir, 'relying-parties/copy.yaml'), readFileSync(join(dir, 'relying-parties/example-council-tax.yaml')));
    const issues = issuesOf(dir);
    expect(issues).toContainEqual({ file: 'relying-parties/example-council-tax.yaml', field: 'default_level', message: 'Cl.P1 is below the minimum_level Cl.Cm.P2' });
    expect(issues).toContainEqual(expect.objectContaining({ file: 'relying-parties/example-council-tax.yaml', field: 'client_id' }));
  });

  it('broker.yaml: the performance minimum and window, and the standard attribute request, checked and defaulted', () => {
    const shipped = loadPolicies(defaultPoliciesDir, { now: new Date('2026-11-23') });
    expect(shipped.broker.performance).toEqual({ minimum_journeys: 20, days: 7 });
    expect(shipped.broker.identity_provider_request.attributes).toEqual(['given_name', 'family_name', 'birthdate', 'address']);
    const dir = copy();
    edit(dir, 'broker.yaml', (t) => t.replace('minimum_journeys: 20', 'minimum_journeys: 0').replace('\n  days: 7\n', '\n  days: 40\n').replace('    - address\n', '    - given_name\n'));
    const issues = issuesOf(dir);
    expect(issues).toContainEqual({ file: 'broker.yaml', field: 'performance.minimum_journeys', message: 'must be at least 1' });
    expect(issues).toContainEqual({ file: 'broker.yaml', field: 'performance.days', message: 'must be at most 31' });
    expect(issues).toContainEqual(expect.objectContaining({ file: 'broker.yaml', field: 'identity_provider_request.attributes', message: 'must not repeat an attribute' }));
    // Without the sections, the defaults.
    const bare = copy();
    edit(bare, 'broker.yaml', (t) => t.slice(0, t.indexOf('performance:')));
    const defaults = loadPolicies(bare, { now: new Date('2026-11-23') });
    expect(defaults.broker.performance).toEqual({ minimum_journeys: 20, days: 7 });
    expect(defaults.broker.identity_provider_request.attributes).toEqual(['given_name', 'family_name', 'birthdate', 'address']);
  });

  it('relying-parties: a permitted attribute outside the standard attribute request is refused, naming the field', () => {
    const dir = copy();
    edit(dir, 'relying-parties/example-council-tax.yaml', (t) => t.replace('  - address\n', '  - address\n  - email\n'));
    expect(issuesOf(dir)).toContainEqual({
      file: 'relying-parties/example-council-tax.yaml',
      field: 'permitted_attributes.4',
      message: "email is not in the federation's standard attribute request (broker.yaml identity_provider_request.attributes)",
    });
  });

  it('relying-parties: a private key given as the service public keys', () => {
    const dir = copy();
    edit(dir, 'relying-parties/example-council-tax.yaml', (t) => t.replace('example-service.public.jwk.json', 'example-service.private.jwk.json'));
    expect(issuesOf(dir)).toContainEqual({
      file: 'relying-parties/example-council-tax.yaml',
      field: 'jwks_file',
      message: 'holds a private key: give the service public keys only',
    });
  });

  it('broker.yaml: inactive open cases close after 7 to 365 days (default 90)', () => {
    const dir = copy();
    expect(loadPolicies(dir, { now: new Date('2026-11-23') }).broker.cases.inactive_close_days).toBe(90);
    edit(dir, 'broker.yaml', (t) => t.replace('inactive_close_days: 90', 'inactive_close_days: 3650'));
    expect(issuesOf(dir)).toContainEqual({ file: 'broker.yaml', field: 'cases.inactive_close_days', message: 'must be at most 365 (no open case keeps what the citizen typed longer)' });
    edit(dir, 'broker.yaml', (t) => t.replace('inactive_close_days: 3650', 'inactive_close_days: 2'));
    expect(issuesOf(dir)).toContainEqual({ file: 'broker.yaml', field: 'cases.inactive_close_days', message: 'must be at least 7 (a week for support to act)' });
    edit(dir, 'broker.yaml', (t) => t.replace(/\n *# Open cases with no activity[^\n]*\n[^\n]*\n *inactive_close_days: 2\n/, '\n'));
    expect(loadPolicies(dir, { now: new Date('2026-11-23') }).broker.cases.inactive_close_days).toBe(90);
  });

  it('broker.yaml: a journey longer than 90 minutes, and YAML that does not parse', () => {
    const dir = copy();
    edit(dir, 'broker.yaml', (t) => t.replace('ttl_minutes: 90', 'ttl_minutes: 600'));
    expect(issuesOf(dir)).toContainEqual({ file: 'broker.yaml', field: 'journey.ttl_minutes', message: 'must be at most 90 (no journey state is kept longer)' });
    edit(dir, 'broker.yaml', (t) => `${t}\n  bad: [unclosed\n`);
    expect(issuesOf(dir)[0]).toMatchObject({ file: 'broker.yaml', field: '' });
    expect(issuesOf(dir)[0]!.message).toMatch(/not valid YAML/);
  });

  it('npm run policies:check exits 1 and prints the errors for a broken copy', () => {
    const dir = copy();
    edit(dir, 'identity-providers/civic-id.yaml', (t) => t.replace('status: enabled', 'status: off'));
    let out = '';
    let code = 0;
    try {
      execFileSync('npx', ['tsx', 'policies/src/cli.ts', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      const err = e as { status: number; stderr: string };
      code = err.status;
      out = err.stderr;
    }
    expect(code).toBe(1);
    expect(out).toContain('identity-providers/civic-id.yaml (status): must be one of: enabled, suspended');
  }, 90_000);
});
