/** Certification records and GPG 45 profiles are checked by the loader, with errors naming file and field. */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultPoliciesDir, loadPolicies, PolicyError, type PolicyIssue } from '../src/index.js';

const NOW = new Date('2026-11-23');
const copies: string[] = [];
function copy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'policies-cert-'));
  cpSync(defaultPoliciesDir, dir, { recursive: true, filter: (s) => !s.endsWith('/src') && !s.endsWith('/test') });
  copies.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of copies.splice(0)) rmSync(d, { recursive: true, force: true });
});
function edit(dir: string, file: string, change: (text: string) => string) {
  const path = join(dir, file);
  const before = readFileSync(path, 'utf8');
  const after = change(before);
  if (after === before) throw new Error(`the edit changed nothing in ${file}`);
  writeFileSync(path, after);
}
function issuesOf(dir: string): PolicyIssue[] {
  try {
    loadPolicies(dir, { now: NOW });
  } catch (e) {
    if (e instanceof PolicyError) return e.issues;
    throw e;
  }
  throw new Error('expected the policies to be refused');
}
const CIVIC = 'identity-providers/civic-id.yaml';

describe('certification records', () => {
  it('the shipped providers carry a full record', () => {
    const p = loadPolicies(defaultPoliciesDir, { now: NOW });
    for (const idp of p.identityProviders) {
      expect(idp.certification).toMatchObject({
        trust_framework: { version: '1.0' },
        role: 'identity_service_provider',
        certification_body: { name: expect.any(String), ukas_accreditation: expect.any(String) },
        certificate_reference: expect.any(String),
        register: { entry: expect.stringMatching(/^https:/), status: 'listed' },
      });
      expect(idp.certification.authentication).toContain(idp.certified.authentication);
    }
    expect(p.identityProvider('civic-id')!.certification.supplementary_codes).toContain('right_to_work');
  });

  it('an unknown profile, an unknown authentication level and a missing field name file and field', () => {
    const dir = copy();
    edit(dir, CIVIC, (t) => t.replace('profiles: [L1A, L1B, L1C, M1A', 'profiles: [L1A, L1B, L1C, M9Z, M1A').replace('authentication: [Cl, Cl.Cm, Cl.Cm.Cp]', 'authentication: [Cl, Cl.Cx, Cl.Cm.Cp]').replace(/ {2}certificate_reference: .*\n/, ''));
    const issues = issuesOf(dir);
    expect(issues).toContainEqual({ file: CIVIC, field: 'certification.certificate_reference', message: 'is required (string)' });
    const dir2 = copy();
    edit(dir2, CIVIC, (t) => t.replace('profiles: [L1A, L1B, L1C, M1A', 'profiles: [L1A, L1B, L1C, M9Z, M1A').replace('authentication: [Cl, Cl.Cm, Cl.Cm.Cp]', 'authentication: [Cl, Cl.Cx, Cl.Cm.Cp]'));
    const issues2 = issuesOf(dir2);
    expect(issues2).toContainEqual({ file: CIVIC, field: 'certification.profiles.3', message: expect.stringMatching(/^unknown GPG 45 profile "M9Z"/) });
    expect(issues2).toContainEqual({ file: CIVIC, field: 'certification.authentication.1', message: expect.stringMatching(/^unknown authentication level "Cl.Cx"/) });
  });

  it('certified.confidence must be what the certified profiles reach', () => {
    const dir = copy();
    edit(dir, CIVIC, (t) => t.replace('profiles: [L1A, L1B, L1C, M1A, M1B, M1C, M2B]', 'profiles: [L1A, L1B, L1C]'));
    expect(issuesOf(dir)).toContainEqual({ file: CIVIC, field: 'certified.confidence', message: expect.stringContaining('is P2, but the profiles in certification.profiles reach P1') });
    const dir2 = copy();
    edit(dir2, CIVIC, (t) => t.replace('authentication: [Cl, Cl.Cm, Cl.Cm.Cp]', 'authentication: [Cl, Cl.Cm]'));
    expect(issuesOf(dir2)).toContainEqual({ file: CIVIC, field: 'certified.authentication', message: 'is Cl.Cm.Cp, but certification.authentication goes up to Cl.Cm' });
  });

  it('dates: issued after expiry and an audit before issue are errors; a withdrawn entry and an overdue audit are warnings', () => {
    const dir = copy();
    edit(dir, CIVIC, (t) => t.replace('issued: 2025-04-01', 'issued: 2028-04-01'));
    const issues = issuesOf(dir);
    expect(issues).toContainEqual({ file: CIVIC, field: 'certification.issued', message: '2028-04-01 is not before certification_expires 2028-03-31' });
    const dir2 = copy();
    edit(dir2, CIVIC, (t) => t.replace('status: listed', 'status: withdrawn').replace('last_surveillance_audit: 2026-03-24', 'last_surveillance_audit: 2025-04-02'));
    const p = loadPolicies(dir2, { now: NOW });
    expect(p.warnings).toContainEqual({ file: CIVIC, field: 'certification.register.status', message: 'withdrawn from the register: this provider will not be offered' });
    expect(p.warnings).toContainEqual({ file: CIVIC, field: 'certification.last_surveillance_audit', message: 'the yearly surveillance audit is overdue (last on 2025-04-02)' });
    const dir3 = copy();
    edit(dir3, CIVIC, (t) => t.replace('status: listed', 'status: revoked'));
    expect(issuesOf(dir3)).toContainEqual(expect.objectContaining({ file: CIVIC, field: 'certification.register.status' }));
  });
});

describe('levels.yaml: GPG 45 profiles', () => {
  it('a score out of range, a level without profiles and a profile under two levels name the field', () => {
    const dir = copy();
    edit(dir, 'levels.yaml', (t) => t.replace('M1A: { evidence: [[4, 2]], activity: 0', 'M1A: { evidence: [[5, 2]], activity: 0'));
    expect(issuesOf(dir)).toContainEqual({ file: 'levels.yaml', field: 'confidence.2.profiles.M1A.evidence.0.0', message: 'must be from 0 to 4' });
    const dir2 = copy();
    edit(dir2, 'levels.yaml', (t) => t.replace(/ {4}profiles:\n( {6}H.*\n)+/, '').replace('L1A: { evidence', 'M1B: { evidence'));
    const issues = issuesOf(dir2);
    expect(issues).toContainEqual({ file: 'levels.yaml', field: 'confidence.3.profiles', message: 'P3 has no GPG 45 profile: no provider could reach it' });
    expect(issues).toContainEqual(expect.objectContaining({ file: 'levels.yaml', field: 'confidence.2.profiles.M1B', message: 'profile M1B is also under P1' }));
  });

  it('an authentication level without GPG 44 authenticator requirements is refused', () => {
    const dir = copy();
    edit(dir, 'levels.yaml', (t) => t.replace(/ {4}authenticators:\n {6}requirement: GPG 44 low.*\n {6}amr: .*\n/, ''));
    expect(issuesOf(dir)).toContainEqual({ file: 'levels.yaml', field: 'authentication.0.authenticators', message: 'is required (object)' });
  });

  it('return codes: the shipped vocabulary puts each code under one cause; a code under two causes or a bad code names the field', () => {
    expect(loadPolicies(defaultPoliciesDir, { now: NOW }).broker.return_codes).toEqual({ evidence: ['N'], provider: ['T'], fraud: ['F', 'D', 'V'] });
    const dir = copy();
    edit(dir, 'broker.yaml', (t) => t.replace('provider: [T]', 'provider: [T, N, "x y"]'));
    const issues = issuesOf(dir);
    expect(issues).toContainEqual({ file: 'broker.yaml', field: 'return_codes.provider.1', message: 'N is also under evidence: a code has one meaning' });
    expect(issues).toContainEqual({ file: 'broker.yaml', field: 'return_codes.provider.2', message: 'must be a code of 1 to 16 letters, digits, _ or -' });
  });
});
