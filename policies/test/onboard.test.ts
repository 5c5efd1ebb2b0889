/**
 * `npm run onboard` (policies/src/onboard.ts and its command line): a change is written only when
 * the whole folder with it passes the loader, refusals name file and field, nothing is replaced
 * silently, and edits keep every other byte of the file (comments, layout).
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { addProvider, addService, changeProvider, defaultPoliciesDir, loadPolicies, OnboardError } from '../src/index.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const scratch: string[] = [];
function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'onboard-'));
  cpSync(defaultPoliciesDir, dir, { recursive: true, filter: (s) => !s.endsWith('/src') && !s.endsWith('/test') });
  scratch.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of scratch.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** What `idbroker-rp init` writes (relying-party-sdk/src/cli.ts), with a fixed key. */
const draft = (clientId = 'my-service') => `# Draft policy entry for My service, written by idbroker-rp init on 2026-12-01.
# Send it to the federation's operator: it goes in policies/relying-parties/<client-id>.yaml,
# after they check every field (levels, attributes, sector, other ways).
client_id: "${clientId}"
display_name: "My service"
organisation: "My organisation"
redirect_uris:
  - "http://my-service.localhost:4000/callback"
token_endpoint_auth_method: private_key_jwt
jwks: {"keys":[{"kty":"EC","x":"82FQahZ9XajDOni8SeoLnlxDM01N0QVRlMqQVu-uLV4","y":"RjTXPJdb3VQhPTr0Dhf0J8EohKfRLX3dg09AxATfMLY","crv":"P-256","kid":"k1","alg":"ES256","use":"sig"}]}
keys_expire: 2027-12-01
permitted_attributes:
  - given_name
  - family_name
minimum_level: Cl.Cm.P2
default_level: Cl.Cm.P2
sector_identifier: "urn:idbroker:sector:${clientId}"
other_ways:
  - text: "TODO: how people who cannot prove their identity online can use this service (phone, in person, post)."
`;

function writeDraft(text: string, name = 'my-service.policy.yaml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'draft-'));
  scratch.push(dir);
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

function refusal(f: () => unknown): OnboardError {
  try {
    f();
  } catch (e) {
    if (e instanceof OnboardError) return e;
    throw e;
  }
  throw new Error('not refused');
}

describe('onboard a service', () => {
  it('takes the draft idbroker-rp init writes, once its placeholder is replaced; the loader then knows the service', () => {
    const dir = folder();
    const path = writeDraft(draft());
    const placeholder = refusal(() => addService(path, {}, { dir }));
    expect(placeholder.issues).toEqual([expect.objectContaining({ file: path, field: 'other_ways.0.text' })]);
    expect(existsSync(join(dir, 'relying-parties/my-service.yaml'))).toBe(false);

    const result = addService(path, { other_ways: ['Call 0300 123 4567.'], cy: { display_name: 'Fy ngwasanaeth', organisation: 'Fy sefydliad', other_ways: ['Ffoniwch 0300 123 4567.'] } }, { dir, today: '2026-12-02' });
    expect(result.written).toBe('relying-parties/my-service.yaml');
    expect(result.warnings).toEqual([]);
    const rp = loadPolicies(dir).relyingParty('my-service')!;
    expect(rp).toMatchObject({ display_name: 'My service', other_ways: [{ text: 'Call 0300 123 4567.' }], cy: { other_ways: [{ text: 'Ffoniwch 0300 123 4567.' }] } });
    const written = readFileSync(join(dir, 'relying-parties/my-service.yaml'), 'utf8');
    expect(written.startsWith('# my-service: onboarded with npm run onboard on 2026-12-02 from my-service.policy.yaml.\n')).toBe(true);
    expect(written).not.toContain('Send it to the federation');
    // No scratch file is left for the brokers to trip on.
    expect(readdirSync(join(dir, 'relying-parties')).sort()).toEqual(['example-council-tax.yaml', 'my-service.yaml']);
  });

  it('never replaces a service silently: the same client_id (in any file) is refused without --replace', () => {
    const dir = folder();
    const text = draft('example-council-tax').replace(/- text: "TODO[^\n]*/, '- text: Phone us.');
    const path = writeDraft(text);
    const before = readFileSync(join(dir, 'relying-parties/example-council-tax.yaml'), 'utf8');
    const e = refusal(() => addService(path, {}, { dir }));
    expect(e.issues).toEqual([expect.objectContaining({ file: 'relying-parties/example-council-tax.yaml', field: 'client_id', message: expect.stringContaining('--replace') })]);
    expect(readFileSync(join(dir, 'relying-parties/example-council-tax.yaml'), 'utf8')).toBe(before);
    addService(path, {}, { dir, replace: true });
    expect(loadPolicies(dir).relyingParty('example-council-tax')!.display_name).toBe('My service');
  });

  it('refuses what the brokers would refuse, naming the draft and the field, and writes nothing', () => {
    const dir = folder();
    const path = writeDraft(draft().replace('minimum_level: Cl.Cm.P2', 'minimum_level: Cl.P9').replace('  - family_name', '  - family_name\n  - shoe_size'));
    const e = refusal(() => addService(path, { other_ways: ['Phone us.'] }, { dir }));
    const fields = e.issues.map((i) => `${i.file} ${i.field}`);
    expect(fields).toContain(`${path} (as relying-parties/my-service.yaml) permitted_attributes.2`);
    expect(existsSync(join(dir, 'relying-parties/my-service.yaml'))).toBe(false);
    const broken = refusal(() => addService(writeDraft('client_id: [oops'), {}, { dir }));
    expect(broken.issues[0]!.message).toMatch(/not valid YAML/);
  });
});

describe('onboard an identity provider', () => {
  it('adds a provider from its file, refuses a second with the same id or issuer', () => {
    const dir = folder();
    const original = readFileSync(join(dir, 'identity-providers/swift-verify.yaml'), 'utf8');
    const same = refusal(() => addProvider(writeDraft(original, 'p.yaml'), { dir }));
    expect(same.issues).toEqual([expect.objectContaining({ file: 'identity-providers/swift-verify.yaml', field: 'id' })]);
    const sameIssuer = refusal(() => addProvider(writeDraft(original.replace(/^id: swift-verify$/m, 'id: swift-two'), 'p.yaml'), { dir }));
    expect(sameIssuer.issues.map((i) => i.field)).toContain('issuer');
    const result = addProvider(writeDraft(original.replace(/^id: swift-verify$/m, 'id: swift-two').replace(/localhost:3102/g, 'localhost:3199'), 'p.yaml'), { dir });
    expect(result.written).toBe('identity-providers/swift-two.yaml');
    expect(loadPolicies(dir).identityProvider('swift-two')!.issuer).toBe('http://localhost:3199');
  });

  it('suspends, resumes and withdraws in place: only the changed values differ, comments and layout stay', () => {
    const dir = folder();
    const file = join(dir, 'identity-providers/civic-id.yaml');
    const before = readFileSync(file, 'utf8');
    expect(changeProvider('civic-id', 'suspend', { dir }).written).toBe('identity-providers/civic-id.yaml');
    expect(readFileSync(file, 'utf8')).toBe(before.replace(/^status: enabled$/m, 'status: suspended'));
    expect(loadPolicies(dir).identityProvider('civic-id')!.status).toBe('suspended');
    const again = changeProvider('civic-id', 'suspend', { dir });
    expect(again.written).toBeUndefined();
    expect(again.message).toContain('already suspended');
    changeProvider('civic-id', 'resume', { dir });
    expect(readFileSync(file, 'utf8')).toBe(before);

    const withdrawn = changeProvider('civic-id', 'withdraw', { dir, today: '2026-12-01' });
    expect(withdrawn.warnings.join('\n')).toContain('certification.register.status');
    expect(readFileSync(file, 'utf8')).toBe(before.replace(/^( +)status: listed$/m, '$1status: withdrawn\n$1withdrawn_on: 2026-12-01'));
    expect(loadPolicies(dir).identityProvider('civic-id')!.certification.register).toMatchObject({ status: 'withdrawn', withdrawn_on: '2026-12-01' });

    expect(refusal(() => changeProvider('nobody', 'suspend', { dir })).issues[0]!.message).toContain('no provider has the id "nobody"');
    // A wallet holds a certificate too (a holder service provider's): withdrawn the same way.
    const wallet = changeProvider('digital-wallet', 'withdraw', { dir, today: '2026-12-01' });
    expect(wallet.written).toBe('identity-providers/digital-wallet.yaml');
    expect(loadPolicies(dir).walletProvider('digital-wallet')!.certification.register).toMatchObject({ status: 'withdrawn', withdrawn_on: '2026-12-01' });
  });
});

describe('npm run onboard', () => {
  it('prints what it did, or every problem and "nothing was written" with a non-zero exit', async () => {
    const dir = folder();
    const path = writeDraft(draft());
    const refused = await run('npm', ['run', '-s', 'onboard', '--', 'service', path, '--policies', dir], { cwd: root }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Refused: nothing was written.');
    expect(refused.stderr).toContain(`${path} (other_ways.0.text): is still the draft's placeholder`);
    const { stdout } = await run('npm', ['run', '-s', 'onboard', '--', 'service', path, '--policies', dir, '--other-way', 'Phone 0300 123 4567.'], { cwd: root });
    expect(stdout).toContain('Added the service my-service: relying-parties/my-service.yaml');
    expect(stdout).toContain('warning: relying-parties/my-service.yaml (cy): no Welsh text');
    const suspended = await run('npm', ['run', '-s', 'onboard', '--', 'idp', 'suspend', 'swift-verify', '--policies', dir], { cwd: root });
    expect(suspended.stdout).toContain('swift-verify is now suspended');
    const usage = await run('npm', ['run', '-s', 'onboard', '--', 'idp', 'pause', 'x'], { cwd: root }).catch((e: { code: number; stderr: string }) => e);
    expect(usage).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command "idp pause x"') });
  }, 60_000);
});
