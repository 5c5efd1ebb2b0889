/** Every text a citizen reads from the policies exists in Welsh too: `policies:check` fails until it does. */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultPoliciesDir, levelName, loadPolicies, PolicyError, providerText, serviceText } from '../src/index.js';

const copies: string[] = [];
function copy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'policies-cy-'));
  cpSync(defaultPoliciesDir, dir, { recursive: true, filter: (s) => !s.endsWith('/src') && !s.endsWith('/test') && !s.includes('node_modules') });
  copies.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of copies.splice(0)) rmSync(d, { recursive: true, force: true });
});
function change(dir: string, file: string, f: (doc: Record<string, unknown>) => void) {
  const path = join(dir, file);
  const doc = parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  f(doc);
  writeFileSync(path, stringify(doc));
}

describe('Welsh in the policies', () => {
  it('the shipped policies have Welsh for every text a citizen reads', () => {
    const p = loadPolicies(defaultPoliciesDir);
    expect(p.missingWelsh).toEqual([]);
    const civic = p.identityProvider('civic-id')!;
    expect(providerText(civic, 'cy').whatYouWillNeed).toHaveLength(civic.what_you_will_need.length);
    expect(providerText(civic, 'cy').description).not.toBe(civic.description);
    expect(providerText(civic, 'en').description).toBe(civic.description);
    const rp = p.relyingParty('example-council-tax')!;
    expect(serviceText(rp, 'cy').otherWays.map((w) => w.href)).toEqual(rp.other_ways.map((w) => w.href));
    expect(serviceText(rp, 'cy').name).not.toBe(rp.display_name);
    for (const level of p.levels.confidence) expect(levelName(level, 'cy')).not.toBe(level.name);
  });

  it('a provider, a service or a level without Welsh is named (file and field); the broker still loads them', () => {
    const dir = copy();
    change(dir, 'identity-providers/civic-id.yaml', (d) => delete d.cy);
    change(dir, 'identity-providers/swift-verify.yaml', (d) => delete (d.cy as Record<string, unknown>).description);
    change(dir, 'relying-parties/example-council-tax.yaml', (d) => delete d.cy);
    change(dir, 'levels.yaml', (d) => delete (d.confidence as Array<Record<string, unknown>>)[2]!.cy);
    change(dir, 'identity-providers/community-vouch.yaml', (d) => delete ((d.certification as Record<string, unknown>).trust_framework as Record<string, unknown>).cy);
    const p = loadPolicies(dir);
    expect(p.missingWelsh).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ file: 'identity-providers/civic-id.yaml', field: 'cy' }),
        expect.objectContaining({ file: 'identity-providers/swift-verify.yaml', field: 'cy.description' }),
        expect.objectContaining({ file: 'relying-parties/example-council-tax.yaml', field: 'cy' }),
        expect.objectContaining({ file: 'levels.yaml', field: 'confidence.2.cy.name' }),
        expect.objectContaining({ file: 'identity-providers/community-vouch.yaml', field: 'certification.trust_framework.cy.name' }),
      ]),
    );
    // Shown in English meanwhile.
    expect(providerText(p.identityProvider('civic-id')!, 'cy').description).toBe(p.identityProvider('civic-id')!.description);
    // `npm run policies:check` refuses them.
    let failure: { status: number; stderr: string } | undefined;
    try {
      execFileSync('npx', ['tsx', 'policies/src/cli.ts', dir], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      failure = e as { status: number; stderr: string };
    }
    expect(failure?.status).toBe(1);
    expect(failure?.stderr).toContain('identity-providers/civic-id.yaml (cy)');
    expect(failure?.stderr).toContain('relying-parties/example-council-tax.yaml (cy)');
  }, 120_000);

  it('Welsh lists that do not match the English one for one are errors naming the field', () => {
    const dir = copy();
    change(dir, 'identity-providers/civic-id.yaml', (d) => (d.cy as { what_you_will_need: string[] }).what_you_will_need.pop());
    change(dir, 'relying-parties/example-council-tax.yaml', (d) => (d.cy as { other_ways: unknown[] }).other_ways.pop());
    let issues: PolicyError['issues'] = [];
    try {
      loadPolicies(dir);
    } catch (e) {
      if (!(e instanceof PolicyError)) throw e;
      issues = e.issues;
    }
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ file: 'identity-providers/civic-id.yaml', field: 'cy.what_you_will_need' }),
        expect.objectContaining({ file: 'relying-parties/example-council-tax.yaml', field: 'cy.other_ways' }),
      ]),
    );
  });
});
