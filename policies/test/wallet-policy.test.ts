/** `kind: wallet` in identity-providers/: a certified wallet provider (docs/wallets.md). */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
const WALLET = 'identity-providers/digital-wallet.yaml';
function edit(dir: string, file: string, change: (text: string) => string) {
  const path = join(dir, file);
  const before = readFileSync(path, 'utf8');
  const after = change(before);
  if (after === before) throw new Error(`the edit changed nothing in ${file}`);
  writeFileSync(path, after);
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

describe('policies: wallet providers', () => {
  it('the shipped wallet loads beside the IdPs, which stay kind idp without saying so', () => {
    const p = loadPolicies(defaultPoliciesDir, { now: new Date('2026-11-23') });
    expect(p.walletProviders.map((w) => w.id)).toEqual(['digital-wallet']);
    expect(p.identityProviders.map((i) => i.id)).not.toContain('digital-wallet');
    const w = p.walletProvider('digital-wallet')!;
    expect(w.kind).toBe('wallet');
    expect(w.credential_issuers[0]).toMatchObject({ vct: ['urn:eudi:pid:1'], level: { confidence: 'P2' } });
    expect(w.credential_issuers[0]!.level.evidence.length).toBeGreaterThan(0);
    expect(p.identityProvider('civic-id')?.kind).toBeUndefined();
    expect(p.warnings).toEqual([]);
  });

  it('an IdP file may say kind: idp; an unknown kind is refused with file and field', () => {
    const dir = copy();
    edit(dir, 'identity-providers/civic-id.yaml', (t) => `kind: idp\n${t}`);
    expect(loadPolicies(dir, { now: new Date('2026-11-23') }).identityProvider('civic-id')?.kind).toBe('idp');
    edit(dir, 'identity-providers/civic-id.yaml', (t) => t.replace('kind: idp', 'kind: purse'));
    expect(issuesOf(dir)).toContainEqual({ file: 'identity-providers/civic-id.yaml', field: 'kind', message: 'must be one of: idp' });
  });

  it('unknown levels, an issuer above the certification, and no evidence name the file and field', () => {
    const dir = copy();
    edit(dir, WALLET, (t) => t.replace('authentication: Cl.Cm', 'authentication: Cx').replace(/level:\n {6}confidence: P2/, 'level:\n      confidence: P3'));
    const issues = issuesOf(dir);
    expect(issues).toContainEqual({ file: WALLET, field: 'certified.authentication', message: expect.stringContaining('unknown authentication level "Cx"') });
    expect(issues).toContainEqual({ file: WALLET, field: 'credential_issuers.0.level.confidence', message: "P3 is above the wallet's certified confidence P2" });
    const dir2 = copy();
    edit(dir2, WALLET, (t) => t.replace(/evidence:\n(\s+- .*\n)+/, 'evidence: []\n').replace('vct: [urn:eudi:pid:1]', 'vct: []'));
    const issues2 = issuesOf(dir2);
    expect(issues2.map((i) => i.field)).toEqual(expect.arrayContaining(['credential_issuers.0.level.evidence', 'credential_issuers.0.vct']));
    expect(issues2.every((i) => i.file === WALLET)).toBe(true);
  });

  it('issuer keys: exactly one source, no private key, a readable root', () => {
    const dir = copy();
    edit(dir, WALLET, (t) => t.replace('x5c_roots: [dev-keys/pid-issuer-root.cert.pem]', 'x5c_roots: [dev-keys/pid-issuer-root.cert.pem]\n    jwks_file: dev-keys/pid-issuer.private.jwk.json'));
    expect(issuesOf(dir)).toContainEqual({ file: WALLET, field: 'credential_issuers.0.jwks', message: 'give exactly one of jwks, jwks_file and x5c_roots' });
    const dir2 = copy();
    edit(dir2, WALLET, (t) => t.replace('x5c_roots: [dev-keys/pid-issuer-root.cert.pem]', 'jwks_file: dev-keys/pid-issuer.private.jwk.json'));
    expect(issuesOf(dir2)).toContainEqual({ file: WALLET, field: 'credential_issuers.0.jwks_file', message: 'holds a private key: give the issuer public keys only' });
    const dir3 = copy();
    edit(dir3, WALLET, (t) => t.replace('x5c_roots: [dev-keys/pid-issuer-root.cert.pem]', 'x5c_roots: [dev-keys/broker-signing.public.jwk.json]'));
    expect(issuesOf(dir3)).toContainEqual({ file: WALLET, field: 'credential_issuers.0.x5c_roots.0', message: expect.stringContaining('cannot be read as a PEM certificate') });
  });

  it("the broker's verifier key must match its certificate; bad endpoint and unknown fields are refused", () => {
    const dir = copy();
    edit(dir, WALLET, (t) => t.replace('dev-keys/broker-verifier.private.jwk.json', 'dev-keys/broker-idp-client.private.jwk.json'));
    expect(issuesOf(dir)).toEqual([{ file: WALLET, field: 'broker_verifier.certificate_chain', message: 'the first certificate is not for broker_verifier.private_key' }]);
    const dir2 = copy();
    edit(dir2, WALLET, (t) => t.replace('authorization_endpoint: http://localhost:3110/authorize', 'authorization_endpoint: javascript://x').replace('cross_device: true', 'cross_device: true\n  colour: blue'));
    const issues2 = issuesOf(dir2);
    expect(issues2).toContainEqual({ file: WALLET, field: 'wallet.authorization_endpoint', message: 'must be an openid4vp://, haip-vp:// or http(s):// URL' });
    expect(issues2).toContainEqual({ file: WALLET, field: 'wallet', message: 'unknown field: colour' });
  });

  it('an id shared with an IdP is refused; an expired wallet certification is a warning', () => {
    const dir = copy();
    edit(dir, WALLET, (t) => t.replace('id: digital-wallet', 'id: civic-id'));
    expect(issuesOf(dir)).toContainEqual({ file: 'identity-providers/digital-wallet.yaml', field: 'id', message: '"civic-id" is also the id in identity-providers/civic-id.yaml' });
    const dir2 = copy();
    edit(dir2, WALLET, (t) => t.replace('2028-03-31', '2026-01-31'));
    const p = loadPolicies(dir2, { now: new Date('2026-11-23') });
    expect(p.warnings).toContainEqual({ file: WALLET, field: 'certification_expires', message: expect.stringContaining('expired on 2026-01-31') });
  });

  it('the shipped wallet carries a certification record as a holder service provider, checked like an IdP\'s', () => {
    const p = loadPolicies(defaultPoliciesDir, { now: new Date('2026-11-23') });
    const wallet = p.walletProvider('digital-wallet')!;
    expect(wallet.certification).toMatchObject({
      trust_framework: { version: '1.0', cy: { name: expect.any(String) } },
      role: 'holder_service_provider',
      certification_body: { name: expect.any(String), ukas_accreditation: expect.any(String) },
      certificate_reference: expect.any(String),
      register: { entry: expect.stringMatching(/^https:/), status: 'listed' },
      profiles: [],
    });
    expect(wallet.certification.authentication).toContain(wallet.certified.authentication);
    expect(p.missingWelsh.filter((m) => m.file === WALLET)).toEqual([]);
  });

  it('a wallet without a certificate, certified in another role, with profiles of its own or beyond its authentication names file and field', () => {
    const dir = copy();
    edit(dir, WALLET, (t) => t.replace(/^certification:\n(?: {2}.*\n| {4}.*\n)+/m, ''));
    expect(issuesOf(dir)).toContainEqual({ file: WALLET, field: 'certification', message: 'is required (object)' });
    const dir2 = copy();
    edit(dir2, WALLET, (t) => t.replace('role: holder_service_provider', 'role: identity_service_provider').replace('  profiles: []', '  profiles: [M1A]').replace('authentication: [Cl, Cl.Cm]', 'authentication: [Cl, Cl.Cm, Cl.Cm.Cp, Cl.Cx]'));
    const issues = issuesOf(dir2);
    expect(issues).toContainEqual({ file: WALLET, field: 'certification.role', message: 'is identity_service_provider: a wallet is certified as a holder_service_provider' });
    expect(issues).toContainEqual({ file: WALLET, field: 'certification.profiles', message: expect.stringMatching(/^must be empty for a wallet/) });
    expect(issues).toContainEqual({ file: WALLET, field: 'certification.authentication.3', message: expect.stringMatching(/^unknown authentication level "Cl.Cx"/) });
    expect(issues).toContainEqual({ file: WALLET, field: 'certified.authentication', message: 'is Cl.Cm, but certification.authentication goes up to Cl.Cm.Cp' });
  });

  it('a wallet certificate\'s dates are checked; a withdrawn register entry is a warning and its Welsh framework name is required', () => {
    const dir = copy();
    edit(dir, WALLET, (t) => t.replace('issued: 2025-04-01', 'issued: 2028-04-01'));
    const issues = issuesOf(dir);
    expect(issues).toContainEqual({ file: WALLET, field: 'certification.issued', message: '2028-04-01 is not before certification_expires 2028-03-31' });
    const dir2 = copy();
    edit(dir2, WALLET, (t) => t.replace('    status: listed', '    status: withdrawn').replace(/ {4}cy: \{ name: .*\n/, ''));
    const p = loadPolicies(dir2, { now: new Date('2026-11-23') });
    expect(p.warnings).toContainEqual({ file: WALLET, field: 'certification.register.status', message: 'withdrawn from the register: this provider will not be offered' });
    expect(p.missingWelsh).toContainEqual({ file: WALLET, field: 'certification.trust_framework.cy.name', message: 'no Welsh name for "UK digital verification services trust framework"' });
  });
});
