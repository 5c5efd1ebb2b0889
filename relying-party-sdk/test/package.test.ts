/**
 * The SDK as a service installs it: `npm pack` (its prepack builds dist/), the tarball unpacked
 * into a scratch `node_modules` beside its dependencies (symlinked from the repository's, no
 * network), then plain `node` (no tsx, no custom conditions) imports the package and its
 * subpaths and signs someone in against the packaged fake broker, and the repository's `tsc`
 * type-checks a small consumer against the published declarations.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPolicies } from '@idbroker/policies';
import { startFakeOp } from '../src/testing.js';
import { freePort } from '../../test/support/ports.js';
import { testPolicies } from '../../test/support/policies.js';
import { BrowserClient, getText } from '../../test/support/browser-client.js';
import { signInAtStub } from '../../test/support/idp-stub-driver.js';
import { visibleText } from '../../test/support/text.js';
import { resolveLocalhostNames } from '../../scripts/local-federation.js';

// This process reaches the parts of npm start (and the new service) at their *.localhost names, as a browser does.
resolveLocalhostNames();

/**
 * "Empty folder to first verified user" (issue 15): how long each step of the READMEs' path
 * takes here, what the person types, and what they do in the browser. Printed at the end of the
 * file's run, never asserted (speed is `npm run bench`'s business).
 */
const path: { step: string; typed: string[]; ms: number }[] = [];
async function timed<T>(step: string, typed: string[], run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await run();
  } finally {
    path.push({ step, typed, ms: Math.round(performance.now() - started) });
  }
}

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const NAME = '@idbroker/relying-party-sdk';

interface Manifest {
  name: string;
  dependencies: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
}

let tmp: string;
let installed: string;
let files: string[];
let tarball: string;

/** Children get no tsx, no --conditions and no NODE_OPTIONS: what a service's own Node runs with. */
function plainEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [relative(installed, p).split('\\').join('/')];
  });
}

/** `<tmp>/node_modules/<name>` -> the repository's copy (its own dependencies resolve from there). */
function linkFromRepo(name: string): void {
  const target = join(tmp, 'node_modules', name);
  mkdirSync(dirname(target), { recursive: true });
  symlinkSync(join(root, 'node_modules', name), target, 'dir');
}

beforeAll(async () => {
  tmp = realpathSync(mkdtempSync(join(tmpdir(), 'rp-sdk-package-')));
  const { stdout } = await timed('pack the SDK (until it is on the registry)', ['npm pack -w relying-party-sdk'], () =>
    run('npm', ['pack', '--workspace', 'relying-party-sdk', '--pack-destination', tmp, '--json'], { cwd: root, env: plainEnv(), maxBuffer: 16 * 1024 * 1024 }),
  );
  const [packed] = JSON.parse(stdout) as { filename: string }[];
  tarball = join(tmp, packed!.filename);
  installed = join(tmp, 'node_modules', ...NAME.split('/'));
  mkdirSync(installed, { recursive: true });
  await run('tar', ['-xzf', join(tmp, packed!.filename), '-C', installed, '--strip-components=1']);
  files = walk(installed).sort();
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Manifest;
  for (const dep of Object.keys(manifest.dependencies)) linkFromRepo(dep);
  linkFromRepo('@types/node'); // for the consumer's tsc: the declarations use node:http types
  writeFileSync(join(tmp, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
}, 240_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  if (path.some((p) => p.step === 'a person signs in at the new service')) {
    const typed = path.flatMap((p) => p.typed);
    const total = path.reduce((sum, p) => sum + p.ms, 0);
    console.log(
      [
        'Empty folder to first verified user (README + relying-party-sdk/README.md; the federation already running):',
        ...path.map((p) => `  ${String(p.ms).padStart(6)} ms  ${p.step}${p.typed.length ? `   [${p.typed.join(' ; ')}]` : ''}`),
        `  ${String(total).padStart(6)} ms  in all (machine time; reading and typing not counted); ${typed.filter((t) => !t.startsWith('browser:') && !t.startsWith('file:')).length} commands typed, ${typed.filter((t) => t.startsWith('file:')).length} file saved, ${typed.filter((t) => t.startsWith('browser:')).length} browser actions`,
      ].join('\n'),
    );
  }
});

describe('the published package', () => {
  it('holds the built ESM and declarations (with maps), the sources they map to, and no tests', () => {
    for (const entry of ['index', 'protocol', 'testing']) {
      for (const ext of ['.js', '.d.ts', '.d.ts.map']) expect(files).toContain(`dist/${entry}${ext}`);
    }
    for (const file of files) {
      expect(file, file).toMatch(/^(package\.json|README\.md|LICENSE|dist\/[\w-]+\.(js|js\.map|d\.ts|d\.ts\.map)|src\/[\w-]+\.ts)$/);
      expect(file, file).not.toMatch(/\.test\.|(^|\/)(test|examples)\//);
    }
    // Every source file is built; every export condition but the repository's own names a shipped file.
    for (const src of files.filter((f) => f.startsWith('src/'))) {
      expect(files).toContain(src.replace(/^src\/(.*)\.ts$/, 'dist/$1.js'));
      expect(files).toContain(src.replace(/^src\/(.*)\.ts$/, 'dist/$1.d.ts'));
    }
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Manifest;
    expect(Object.keys(manifest.exports).sort()).toEqual(['.', './package.json', './protocol', './testing']);
    for (const [subpath, target] of Object.entries(manifest.exports)) {
      if (typeof target === 'string') continue;
      expect(Object.keys(target), subpath).toEqual(['@idbroker/source', 'types', 'default']);
      expect(files, subpath).toContain(target.types!.replace(/^\.\//, ''));
      expect(files, subpath).toContain(target.default!.replace(/^\.\//, ''));
    }
  });

  it('imports nothing from the broker, the policies or outside the package', () => {
    const seen = new Set<string>();
    for (const file of files.filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'))) {
      const text = readFileSync(join(installed, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, ''); // code, not comments
      const specifiers = [...text.matchAll(/\b(?:from\s+|import\s*\(\s*|import\s+)(['"])([^'"]+)\1/g)].map((m) => m[2]!);
      for (const s of specifiers) expect(s, `${file} imports ${s}`).toMatch(/^(\.\/[\w-]+\.js|node:[\w/]+|jose|openid-client)$/);
      for (const s of specifiers) seen.add(s);
    }
    expect([...seen]).toEqual(expect.arrayContaining(['./protocol.js', 'jose', 'openid-client', 'node:http']));
  });

  it('loads in plain Node and signs someone in against its own fake broker (./testing), with the matching handler answering', async () => {
    writeFileSync(
      join(tmp, 'check.mjs'),
      `
import * as sdk from '${NAME}';
import * as protocol from '${NAME}/protocol';
import { newKey, startFakeOp } from '${NAME}/testing';

const op = await startFakeOp();
try {
  const key = await newKey();
  op.clientKeys = [key.publicJwk];
  const client = await sdk.createBrokerClient({ issuer: op.issuer, clientId: 'my-service', redirectUri: 'https://my-service.example/callback', privateKey: key.privateJwk, allowInsecureRequests: true });
  const { url, transaction } = await client.startLogin({ vtr: 'Cl.Cm.P2', attributes: ['given_name', 'family_name'] });
  const who = await client.handleCallback(op.authorize(url), transaction);
  const matching = sdk.createMatchingHandler({ brokerIssuer: op.issuer, clientId: 'my-service', privateKey: key.privateJwk, match: async (m) => ({ result: 'match', accountRef: 'ACC-' + m.attributes.family_name }) });
  const answer = await matching.answer(await op.matchRequest('my-service'));
  console.log(JSON.stringify({
    resolved: ['${NAME}', '${NAME}/protocol', '${NAME}/testing'].map((s) => import.meta.resolve(s)),
    functions: Object.entries(sdk).filter(([, v]) => typeof v === 'function').map(([k]) => k).sort(),
    protocol: { MATCH_REQUEST_TYP: protocol.MATCH_REQUEST_TYP, checkMatchResponseClaims: typeof protocol.checkMatchResponseClaims },
    who: { level: who.level, given_name: who.attributes.given_name, match: who.match },
    answerParts: answer.split('.').length,
    brokerError: sdk.isBrokerError(new sdk.BrokerError('no_match', 'x'), 'no_match'),
  }));
} finally {
  await op.close();
}
`,
    );
    const { stdout } = await run(process.execPath, ['check.mjs'], { cwd: tmp, env: plainEnv(), timeout: 60_000 });
    const out = JSON.parse(stdout) as { resolved: string[]; functions: string[]; protocol: Record<string, string>; who: { level: string; given_name: string; match: unknown }; answerParts: number; brokerError: boolean };
    const dist = `${pathToFileURL(installed).href}/dist/`;
    expect(out.resolved).toEqual([`${dist}index.js`, `${dist}protocol.js`, `${dist}testing.js`]);
    expect(out.functions).toEqual(expect.arrayContaining(['createBrokerClient', 'createMatchingHandler', 'koaBrokerLogin', 'nodeLoginHandler', 'nodeCallbackHandler', 'sealTransaction', 'unsealTransaction', 'isBrokerError', 'BrokerError']));
    expect(out.protocol).toEqual({ MATCH_REQUEST_TYP: 'match-request+jwt', checkMatchResponseClaims: 'function' });
    expect(out.who).toEqual({ level: 'Cl.Cm.P2', given_name: 'Margaret', match: { result: 'matched', accountRef: 'CT-100234' } });
    expect(out.answerParts).toBe(3);
    expect(out.brokerError).toBe(true);
  }, 90_000);

  it('type-checks a consumer against its declarations (strict, NodeNext, no DOM, no skipLibCheck)', async () => {
    writeFileSync(
      join(tmp, 'consumer.ts'),
      `
import { createBrokerClient, createMatchingHandler, isBrokerError, type BrokerClient, type MatchDecision, type MatchingIdentity, type VerifiedIdentity } from '${NAME}';
import { MATCH_REQUEST_TYP, type MatchRequestClaims } from '${NAME}/protocol';
import { newKey, startFakeOp, type FakeOp } from '${NAME}/testing';

const op: FakeOp = await startFakeOp();
const key = await newKey();
const client: BrokerClient = await createBrokerClient({ issuer: op.issuer, clientId: 'c', redirectUri: 'https://s.example/cb', privateKey: key.privateJwk, allowInsecureRequests: true });
const { url, transaction } = await client.startLogin({ vtr: 'Cl.Cm.P2', attributes: ['given_name'] });
const who: VerifiedIdentity = await client.handleCallback(op.authorize(url), transaction);
const level: string = who.level;
const decide = async (m: MatchingIdentity): Promise<MatchDecision> => ({ result: 'match', accountRef: m.subject });
const handler = createMatchingHandler({ brokerIssuer: op.issuer, clientId: 'c', privateKey: key.privateJwk, match: decide });
const answer: Promise<string> = handler.answer('jwt');
const typ: string = MATCH_REQUEST_TYP;
const claims: Partial<MatchRequestClaims> = {};
// @ts-expect-error the declarations are real types, not any
const notANumber: number = who.level;
// @ts-expect-error a closed list of codes
isBrokerError(new Error(), 'not_a_code');
export { level, answer, typ, claims, notANumber };
`,
    );
    writeFileSync(
      join(tmp, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', lib: ['ES2023'], module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] }, files: ['consumer.ts'] }),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json', '--traceResolution'], { cwd: tmp, env: plainEnv(), maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }).catch((e: { stdout?: string; message: string }) => {
      throw new Error(`tsc failed:\n${(e.stdout ?? '').split('\n').filter((l) => l.includes('error TS')).join('\n') || e.message}`);
    });
    for (const subpath of ['', '/protocol', '/testing']) {
      const entry = subpath ? subpath.slice(1) : 'index';
      expect(result.stdout).toContain(`Module name '${NAME}${subpath}' was successfully resolved to '${installed}/dist/${entry}.d.ts'`);
    }
  }, 150_000);
});

describe('a stranger installs it: npm install of the packed file into an empty project, then the README', () => {
  let app: string;

  beforeAll(async () => {
    app = join(tmp, 'my-service');
    await timed('an empty project', ['mkdir my-service && cd my-service && npm init -y && npm pkg set type=module'], async () => {
      mkdirSync(app);
      await run('npm', ['init', '-y'], { cwd: app, env: plainEnv() });
      await run('npm', ['pkg', 'set', 'type=module'], { cwd: app, env: plainEnv() });
    });
    // Its dependencies come from npm's cache (filled by the repository's npm ci) or the registry.
    await timed('install the packed SDK', ['npm install ../identity-assurance-broker/idbroker-relying-party-sdk-0.1.0.tgz'], () =>
      run('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline'], { cwd: app, env: plainEnv(), timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }),
    );
  }, 300_000);

  it('`npm publish --dry-run` is clean: no warning about the manifest, the bin and every entry point included', async () => {
    const { stdout, stderr } = await run('npm', ['publish', '--dry-run', '--json'], { cwd: join(root, 'relying-party-sdk'), env: plainEnv(), timeout: 240_000, maxBuffer: 16 * 1024 * 1024 });
    // Only the dry run's own note that nobody is logged in may be a warning here.
    const warnings = stderr.split('\n').filter((l) => /npm warn/i.test(l) && !/requires you to be logged in/.test(l));
    expect(warnings).toEqual([]);
    const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as { name: string; files: { path: string }[] } | Record<string, { name: string; files: { path: string }[] }>;
    const pkg = 'files' in report ? (report as { name: string; files: { path: string }[] }) : Object.values(report)[0]!;
    expect(pkg.name).toBe(NAME);
    const paths = pkg.files.map((f) => f.path);
    for (const f of ['dist/index.js', 'dist/protocol.js', 'dist/testing.js', 'dist/cli.js', 'README.md', 'LICENSE', 'package.json']) expect(paths).toContain(f);
    const manifest = JSON.parse(readFileSync(join(root, 'relying-party-sdk', 'package.json'), 'utf8')) as Record<string, unknown>;
    // What provenance (npm publish --provenance from CI) and the registry page need.
    expect(manifest).toMatchObject({ license: 'MIT', publishConfig: { access: 'public', provenance: true }, bin: { 'idbroker-rp': 'dist/cli.js' } });
    // The repository's address is not guessed: it is the root package.json's (none yet). Provenance
    // (npm publish --provenance) needs one: add repository.url (with directory: relying-party-sdk)
    // where the repository has its public home, at the root and here.
    const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.repository).toEqual(rootManifest.repository);
    expect(manifest.homepage).toEqual(rootManifest.homepage);
  }, 300_000);

  it('`npx idbroker-rp init` writes the key pair (private key mode 600) and a draft policy entry the federation\'s own checks accept; it never overwrites', async () => {
    const args = ['--no-install', 'idbroker-rp', 'init', '--client-id', 'my-service', '--redirect-uri', 'http://my-service.localhost:4000/callback', '--name', 'My service', '--matching-url', 'https://my-service.example/matching'];
    const { stdout } = await run('npx', args, { cwd: app, env: plainEnv(), timeout: 60_000 });
    expect(stdout).toContain('my-service.private.jwk.json');
    const priv = JSON.parse(readFileSync(join(app, 'my-service.private.jwk.json'), 'utf8')) as Record<string, string>;
    const pub = JSON.parse(readFileSync(join(app, 'my-service.public.jwk.json'), 'utf8')) as Record<string, string>;
    expect(priv).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', kid: pub.kid });
    expect(priv.d).toBeTruthy();
    expect(pub.d).toBeUndefined();
    expect(statSync(join(app, 'my-service.private.jwk.json')).mode & 0o777).toBe(0o600);

    const policies = testPolicies();
    try {
      writeFileSync(join(policies.dir, 'relying-parties', 'my-service.yaml'), readFileSync(join(app, 'my-service.policy.yaml')));
      const rp = loadPolicies(policies.dir).relyingParty('my-service')!;
      expect(rp).toMatchObject({ display_name: 'My service', redirect_uris: ['http://my-service.localhost:4000/callback'], token_endpoint_auth_method: 'private_key_jwt', matching: { url: 'https://my-service.example/matching' } });
      expect(rp.jwks!.keys[0]).toMatchObject({ kid: pub.kid, x: pub.x, y: pub.y });
      expect(rp.jwks!.keys[0]!.d).toBeUndefined();
    } finally {
      policies.remove();
    }

    const again = await run('npx', args, { cwd: app, env: plainEnv(), timeout: 60_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/my-service\.private\.jwk\.json already exists: not overwritten/);
    expect(JSON.parse(readFileSync(join(app, 'my-service.private.jwk.json'), 'utf8'))).toEqual(priv);
    const bad = await run('npx', ['--no-install', 'idbroker-rp', 'init', '--client-id', 'x', '--redirect-uri', 'http://example.com/cb'], { cwd: app, env: plainEnv(), timeout: 60_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--client-id is required');
    expect(bad.stderr).toContain('--redirect-uri must be https');
  }, 150_000);

  it('the README\'s service.mjs, copied as it stands, signs Margaret in (against the packaged fake broker): her account, then plainly none', async () => {
    const readme = readFileSync(join(root, 'relying-party-sdk', 'README.md'), 'utf8');
    const block = /<!-- service\.mjs[^\n]*-->\n```js\n([\s\S]*?)\n```/.exec(readme)?.[1];
    expect(block, 'the README has the service.mjs block').toBeDefined();
    writeFileSync(join(app, 'service.mjs'), block!);
    const op = await startFakeOp();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    op.clientKeys = [JSON.parse(readFileSync(join(app, 'my-service.public.jwk.json'), 'utf8'))];
    const child = spawn(process.execPath, ['service.mjs'], { cwd: app, env: { ...plainEnv(), BROKER_ISSUER: op.issuer, BASE_URL: base, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    try {
      const deadline = Date.now() + 30_000;
      while (!output.includes('listening on')) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`service.mjs did not start:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const signIn = async () => {
        const login = await fetch(`${base}/login`, { redirect: 'manual' });
        expect(login.status).toBe(303);
        const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
        const callback = op.authorize(login.headers.get('location')!);
        expect(callback.origin).toBe(base);
        const done = await fetch(callback, { redirect: 'manual', headers: { cookie } });
        expect(done.status).toBe(303);
        const page = await fetch(new URL(done.headers.get('location')!, base));
        // Refresh of the callback: the same page.
        const again = await fetch(callback, { redirect: 'manual', headers: { cookie: done.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ') } });
        expect(again.headers.get('location')).toBe(done.headers.get('location'));
        return page.text();
      };
      expect(await signIn()).toContain('Hello Margaret Okafor. Your account: CT-100234.');
      op.nextIdToken = (claims) => ({ ...claims, match: undefined });
      expect(await signIn()).toContain('Hello Margaret Okafor. No account from the broker: find it yourself from the pairwise subject.');
    } finally {
      child.kill('SIGTERM');
      await op.close();
    }
  }, 90_000);

  it('on npm start, through the READMEs only: init, npm run onboard (the running broker takes it, no restart), the README service, and a person verified through a whole journey', async () => {
    const ports = { broker: await freePort(), service: await freePort(), example: await freePort(), 'civic-id': await freePort(), 'swift-verify': await freePort(), 'community-vouch': await freePort() };
    const policies = testPolicies(); // the repository's policies/ (dates moved on), so the test leaves the repository as it was
    const brokerUrl = `http://localhost:${ports.broker}`;
    const base = `http://my-service.localhost:${ports.service}`;
    const env: NodeJS.ProcessEnv = {
      ...plainEnv(),
      BROKER_PORT: String(ports.broker),
      SERVICE_PORT: String(ports.example),
      CIVIC_ID_PORT: String(ports['civic-id']),
      SWIFT_VERIFY_PORT: String(ports['swift-verify']),
      COMMUNITY_VOUCH_PORT: String(ports['community-vouch']),
      POLICIES_DIR: policies.dir,
      LOG_LEVEL: 'info',
    };
    for (const v of ['REDIS_URL', 'NODE_ENV', 'BROKER_ISSUER']) delete env[v];
    let federationOutput = '';
    let serviceOutput = '';
    const federation = spawn(process.execPath, ['--conditions=@idbroker/source', '--import', 'tsx', 'scripts/start-federation.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    federation.stdout.on('data', (d) => (federationOutput += d));
    federation.stderr.on('data', (d) => (federationOutput += d));
    let service: ReturnType<typeof spawn> | undefined;
    const waitFor = async (what: string, done: () => boolean, ms: number) => {
      const deadline = Date.now() + ms;
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms\n--- npm start:\n${federationOutput.slice(-3000)}\n--- service:\n${serviceOutput}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await timed('the federation (README quick start, left running)', ['npm start'], () => waitFor('npm start prints its URLs', () => federationOutput.includes('Performance per IdP'), 60_000));
      await timed('key pair and draft policy entry', ['npx idbroker-rp init --client-id first-service --redirect-uri http://my-service.localhost:4000/callback --name "My service" --organisation "My organisation"'], () =>
        run('npx', ['--no-install', 'idbroker-rp', 'init', '--client-id', 'first-service', '--redirect-uri', `${base}/callback`, '--name', 'My service', '--organisation', 'My organisation'], { cwd: app, env: plainEnv(), timeout: 60_000 }),
      );
      const onboarded = await timed('onboard the service on the running broker', ['npm run onboard -- service ../my-service/first-service.policy.yaml --other-way "Phone us on 0300 123 4567."'], () =>
        run('npm', ['run', '-s', 'onboard', '--', 'service', join(app, 'first-service.policy.yaml'), '--other-way', 'Phone us on 0300 123 4567.'], { cwd: root, env: { ...plainEnv(), POLICIES_DIR: policies.dir }, timeout: 60_000 }),
      );
      expect(onboarded.stdout).toContain('Added the service first-service: relying-parties/first-service.yaml');
      await timed('the running broker takes it (its folder watch)', [], () =>
        waitFor('the broker logs the new policy', () => /"added":\["first-service"\][^\n]*policy version 2 in force/.test(federationOutput), 15_000),
      );
      expect(federationOutput).not.toContain('policy change refused');

      const readme = readFileSync(join(root, 'relying-party-sdk', 'README.md'), 'utf8');
      writeFileSync(join(app, 'service.mjs'), /<!-- service\.mjs[^\n]*-->\n```js\n([\s\S]*?)\n```/.exec(readme)![1]!);
      path.push({ step: 'write service.mjs (the README block, as it stands)', typed: ['file: service.mjs'], ms: 0 });
      await timed('start the service', ['node service.mjs'], async () => {
        service = spawn(process.execPath, ['service.mjs'], { cwd: app, env: { ...plainEnv(), BROKER_ISSUER: brokerUrl, CLIENT_ID: 'first-service', BASE_URL: base, PORT: String(ports.service) }, stdio: ['ignore', 'pipe', 'pipe'] });
        service.stdout!.on('data', (d) => (serviceOutput += d));
        service.stderr!.on('data', (d) => (serviceOutput += d));
        await waitFor('service.mjs listens', () => serviceOutput.includes('listening on') || service!.exitCode !== null, 30_000);
        expect(serviceOutput).toContain(`listening on ${base}`);
      });

      // A person, in a scripted browser: the service's page, its link, the picker, Civic ID (password
      // and one-time code), consent, and back to the service.
      const result = await timed(
        'a person signs in at the new service',
        ['browser: open the service', 'browser: press "Prove your identity"', 'browser: choose Civic ID', 'browser: Continue', 'browser: username', 'browser: password', 'browser: Continue', 'browser: one-time code', 'browser: Continue', 'browser: Share and continue'],
        async () => {
          const browser = new BrowserClient();
          const home = await browser.follow(`${base}/`);
          expect(await getText(home.response)).toContain('href="/login"');
          const picker = await browser.follow(`${base}/login`);
          expect(picker.url).toMatch(new RegExp(`^${brokerUrl}/journey/`));
          const pickerHtml = await getText(picker.response);
          expect(visibleText(pickerHtml)).toContain('My service');
          const chosen = await browser.submitForm(pickerHtml, picker.url, { formSelector: 'provider', fields: { provider: 'civic-id' } });
          expect(chosen.status).toBe(303);
          const back = await signInAtStub(browser, new URL(chosen.headers.get('location')!, picker.url), { username: 'margaret', password: 'demo-password', secondFactor: 'code' });
          const consent = await browser.follow(back);
          const consentHtml = await getText(consent.response);
          expect(consent.url).toMatch(/\/consent$/);
          const approved = await browser.submitForm(consentHtml, consent.url, { formSelector: 'consent', fields: { decision: 'approve' } });
          const landed = await browser.follow(new URL(approved.headers.get('location')!, consent.url));
          return { url: landed.url, text: visibleText(await getText(landed.response)) };
        },
      );
      expect(result.url).toMatch(new RegExp(`^${base}/result/`));
      expect(result.text).toContain('Hello Margaret Okafor. No account from the broker: find it yourself from the pairwise subject.');
    } finally {
      service?.kill('SIGTERM');
      federation.kill('SIGTERM');
      await new Promise((r) => (federation.exitCode !== null ? r(null) : federation.once('exit', r)));
      policies.remove();
    }
  }, 180_000);
});
