/**
 * `npm run bench [-- --quick] [-- --profile]`: brokered journeys against a bare OIDC code flow.
 *
 * Starts, each on a free loopback port and in its own child process: redis-server (no
 * persistence), the broker (`broker/src/main.ts`, REDIS_URL set, LOG_LEVEL=warn), one IdP stub
 * (`idp-stub/src/main.ts`, civic-id) and the example service's matching endpoint
 * (`bench/matching.ts`). Then, from this process, with a cookie jar and no browser:
 *   - brokered: the service's authorize (openid-client, private_key_jwt, PKCE) -> picker ->
 *     IdP sign-in (password + one-time code, margaret, Cl.Cm.P2) -> consent -> matching ->
 *     code exchange (ID token signature checked) and userinfo;
 *   - bare: the same sign-in straight at the IdP stub as the broker's client -> code exchange.
 * For each, at concurrency 1, 8 (and 32 in the full run): journeys/s, latency percentiles,
 * errors, CPU ms per journey of the broker / stub processes (/proc/<pid>/stat), Redis commands
 * and bytes per journey; then Redis memory per in-flight journey (N journeys held at the picker).
 * Prints a table and writes bench/results/<timestamp>.json (and .cpuprofile with --profile).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import * as client from 'openid-client';
import { defaultPoliciesDir } from '@idbroker/policies';
import { BrowserClient } from '../test/support/browser-client.js';
import { Citizen } from '../test/support/citizen.js';
import { signInAtStub } from '../test/support/idp-stub-driver.js';
import type { Federation, TestService } from '../test/support/federation.js';
import { freePort } from '../test/support/ports.js';
import { testPolicies, type TestPolicies } from '../test/support/policies.js';
import { startRedis, type RedisServer } from '../test/support/redis.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = join(root, 'bench', 'results');
const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const profile = args.has('--profile');
for (const a of args) if (!['--quick', '--profile'].includes(a)) throw new Error(`unknown option ${a} (use --quick, --profile)`);

const PASSWORD = 'demo-password';
const IDP = 'civic-id';
const VTR = ['Cl.Cm.P2'];
const ATTRIBUTES = ['given_name', 'family_name', 'birthdate', 'address'];
const SERVICE_REDIRECT = 'http://localhost:3200/callback';
const JOURNEY_TIMEOUT_MS = 30_000;
const PHASE_TIMEOUT_MS = quick ? 20_000 : 240_000;

/** Journeys per concurrency level (the same for both flows). */
const plan: Array<{ concurrency: number; journeys: number }> = quick
  ? [
      { concurrency: 1, journeys: 15 },
      { concurrency: 8, journeys: 60 },
    ]
  : [
      { concurrency: 1, journeys: 100 },
      { concurrency: 8, journeys: 400 },
      { concurrency: 32, journeys: 960 },
    ];
const held = quick ? 500 : 10_000;

const devKey = (name: string) => JSON.parse(readFileSync(resolve(defaultPoliciesDir, 'dev-keys', name), 'utf8')) as Record<string, unknown>;
const CLK_TCK = 100; // Linux USER_HZ (getconf CLK_TCK) on every supported platform

// ---------------------------------------------------------------------------------------------
// Child processes

interface Child {
  name: string;
  proc: ChildProcess;
  output: string[];
}
const children: Child[] = [];
let redis: RedisServer | undefined;
let policies: TestPolicies | undefined;

function startChild(name: string, script: string, env: Record<string, string>, nodeArgs: string[] = []): Child {
  const proc = spawn(process.execPath, [...nodeArgs, '--conditions=@idbroker/source', '--import', 'tsx', join(root, script)], {
    cwd: root,
    env: { ...process.env, ...env, NODE_ENV: 'development' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const child: Child = { name, proc, output: [] };
  const keep = (d: Buffer) => {
    for (const line of String(d).split('\n')) if (line.trim()) child.output.push(line);
    if (child.output.length > 50) child.output.splice(0, child.output.length - 50);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  proc.once('exit', (code, signal) => {
    if (!stopping) {
      console.error(`\n${name} exited early (code ${code}, signal ${signal}). Last output:\n${child.output.join('\n')}`);
      void shutdown(1);
    }
  });
  children.push(child);
  return child;
}

async function stopChild(child: Child, graceMs: number): Promise<void> {
  const { proc } = child;
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

let stopping = false;
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    // The broker last: with --profile it writes its profile on a clean exit.
    await Promise.allSettled(children.map((c) => stopChild(c, c.name === 'broker' ? 20_000 : 5_000)));
    await redis?.destroy().catch(() => undefined);
    policies?.remove();
  }
  process.exit(code);
}
process.once('SIGINT', () => void shutdown(130));
process.once('SIGTERM', () => void shutdown(143));

/** Poll a URL until it answers 200 (bounded). */
async function waitFor(url: string, child: Child, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 600; i++) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.body?.cancel();
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) break;
    await sleep(50);
  }
  throw new Error(`${child.name} did not answer at ${url} within ${timeoutMs} ms. Output:\n${child.output.join('\n')}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU time (user + system) of a process in ms, from /proc/<pid>/stat. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

// ---------------------------------------------------------------------------------------------
// Redis figures

interface RedisSnapshot {
  commands: number;
  byCommand: Record<string, number>;
  bytes: number;
  usedMemory: number;
}

async function redisSnapshot(r: Redis): Promise<RedisSnapshot> {
  const stats = await r.info('commandstats');
  let commands = 0;
  const byCommand: Record<string, number> = {};
  for (const m of stats.matchAll(/^cmdstat_([a-z_|]+):calls=(\d+)/gm)) {
    if (m[1] === 'info' || m[1] === 'dbsize') continue; // our own
    commands += Number(m[2]);
    byCommand[m[1]!] = Number(m[2]);
  }
  const s = await r.info('stats');
  const num = (text: string, key: string) => Number(new RegExp(`^${key}:(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  const mem = await r.info('memory');
  // Our own INFO traffic (three replies) is taken off.
  const own = stats.length + s.length + mem.length + 120;
  return { commands, byCommand, bytes: num(s, 'total_net_input_bytes') + num(s, 'total_net_output_bytes') - own, usedMemory: num(mem, 'used_memory') };
}

// ---------------------------------------------------------------------------------------------
// The flows

interface Flow {
  name: 'brokered' | 'bare';
  /** One complete journey; throws on any failure or wrong result. */
  once(): Promise<void>;
}

async function serviceClient(issuer: string): Promise<TestService> {
  const key = devKey('example-service.private.jwk.json');
  const privateKey = await crypto.subtle.importKey('jwk', key as JsonWebKey, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const config = await client.discovery(
    new URL(issuer),
    'example-council-tax',
    { id_token_signed_response_alg: 'ES256' },
    client.PrivateKeyJwt({ key: privateKey, kid: String(key.kid) }),
    { execute: [client.allowInsecureRequests] },
  );
  client.enableNonRepudiationChecks(config);
  return {
    config,
    redirectUri: SERVICE_REDIRECT,
    async begin() {
      const codeVerifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: SERVICE_REDIRECT,
        scope: 'openid',
        response_type: 'code',
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state,
        nonce,
        vtr: JSON.stringify(VTR),
        claims: JSON.stringify({ id_token: { verified_claims: { verification: { trust_framework: null }, claims: Object.fromEntries(ATTRIBUTES.map((a) => [a, null])) } } }),
      });
      return { url, state, nonce, codeVerifier };
    },
    async finish(callback, tx) {
      const tokens = await client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: tx.codeVerifier,
        expectedState: tx.state,
        expectedNonce: tx.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims() as Record<string, unknown>;
      const userinfo = (await client.fetchUserInfo(config, tokens.access_token, String(claims.sub))) as Record<string, unknown>;
      return { idToken: tokens.id_token!, claims, userinfo };
    },
  };
}

function brokeredFlow(issuer: string, service: TestService): Flow & { hold(): Promise<void> } {
  const fed = { brokerUrls: [issuer] } as unknown as Federation;
  return {
    name: 'brokered',
    async once() {
      const citizen = new Citizen(fed);
      const start = await citizen.start(service);
      if (start.kind !== 'page' || start.status !== 200) throw new Error(`picker: ${start.kind === 'page' ? start.status : 'back at the service'}`);
      const back = await citizen.verifyWith(IDP, 'margaret', 'code');
      if (back.kind !== 'page' || !back.url.endsWith('/consent')) throw new Error(`after sign-in: not the consent page (${back.kind === 'page' ? `${back.status} ${back.url}` : back.url})`);
      const done = await citizen.consent('approve');
      if (done.kind !== 'service') throw new Error(`after consent: not back at the service (${done.url})`);
      if (done.url.searchParams.get('error')) throw new Error(`service got error ${done.url.searchParams.get('error_reason') ?? done.url.searchParams.get('error')}`);
      const { claims } = await citizen.collect();
      const match = claims.match as { result?: string; account_ref?: string } | undefined;
      if (match?.result !== 'matched' || match.account_ref !== 'CT-100234') throw new Error(`unexpected match claim ${JSON.stringify(match)}`);
      if (claims.vot !== 'Cl.Cm.P2') throw new Error(`unexpected vot ${String(claims.vot)}`);
    },
    /** A journey left open at the picker. */
    async hold() {
      const citizen = new Citizen(fed);
      const start = await citizen.start(service);
      if (start.kind !== 'page' || start.status !== 200 || !start.html.includes('name="provider"')) throw new Error('picker not shown');
    },
  };
}

async function bareFlow(stubIssuer: string, redirectUri: string): Promise<Flow> {
  const key = devKey('broker-idp-client.private.jwk.json');
  const idpPolicy = policies!.load().identityProvider(IDP)!;
  const privateKey = await crypto.subtle.importKey('jwk', key as JsonWebKey, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const config = await client.discovery(
    new URL(stubIssuer),
    idpPolicy.broker_client.client_id,
    { id_token_signed_response_alg: 'ES256' },
    client.PrivateKeyJwt({ key: privateKey, kid: String(key.kid) }),
    { execute: [client.allowInsecureRequests] },
  );
  client.enableNonRepudiationChecks(config);
  return {
    name: 'bare',
    async once() {
      const codeVerifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: 'openid',
        response_type: 'code',
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state,
        nonce,
        vtr: JSON.stringify(VTR),
        claims: JSON.stringify({ id_token: { verified_claims: { verification: { trust_framework: null }, claims: Object.fromEntries(ATTRIBUTES.map((a) => [a, null])) } } }),
      });
      const callback = await signInAtStub(new BrowserClient(), url, { username: 'margaret', password: PASSWORD, secondFactor: 'code' });
      if (callback.searchParams.get('error')) throw new Error(`stub error ${callback.searchParams.get('error')}`);
      const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
      const claims = tokens.claims() as Record<string, unknown>;
      if (claims.vot !== 'Cl.Cm.P2' || !claims.verified_claims) throw new Error(`unexpected ID token from the stub: vot ${String(claims.vot)}`);
    },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`journey took more than ${ms} ms`)), ms))),
  ]);
}

/** Run `total` journeys with `concurrency` workers (bounded by count and by PHASE_TIMEOUT_MS). */
async function runLoad(once: () => Promise<void>, concurrency: number, total: number) {
  const latencies: number[] = [];
  const errors: string[] = [];
  let next = 0;
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total && Date.now() < deadline) {
        next++;
        const t0 = performance.now();
        try {
          await withTimeout(once(), JOURNEY_TIMEOUT_MS);
          latencies.push(performance.now() - t0);
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { latencies, errors, seconds, attempted: next };
}

const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN);

interface PhaseResult {
  flow: 'brokered' | 'bare';
  concurrency: number;
  journeys: number;
  errors: number;
  errorSamples: string[];
  seconds: number;
  journeysPerSecond: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  cpuMsPerJourney: { broker: number; stub: number; matching: number; driver: number };
  redis: { commandsPerJourney: number; bytesPerJourney: number; commandsPerJourneyByName: Record<string, number> };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  mkdirSync(resultsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  console.log(`bench: ${quick ? 'quick' : 'full'} run${profile ? ', profiling the broker' : ''}; ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}`);

  redis = await startRedis(); // --save '' --appendonly no, on a free loopback port
  const [brokerPort, stubPort, matchingPort] = [await freePort(), await freePort(), await freePort()];
  const issuer = `http://127.0.0.1:${brokerPort}`;
  const stubIssuer = `http://127.0.0.1:${stubPort}`;
  const matchingUrl = `http://127.0.0.1:${matchingPort}/matching`;
  const others = ['swift-verify', 'community-vouch'];
  policies = testPolicies({
    idps: { [IDP]: { issuer: stubIssuer }, ...Object.fromEntries(others.map((o) => [o, { status: 'suspended' }])) },
    rps: { 'example-council-tax': { matching: { url: matchingUrl, timeout_ms: 5000, extra_attribute: 'ni_number', account_creation: false } } },
  });
  policies.load(); // valid, or a clear error now

  const stub = startChild('idp-stub', 'idp-stub/src/main.ts', { POLICIES_DIR: policies.dir, BROKER_ISSUER: issuer, IDP_STUB_ONLY: IDP });
  const matching = startChild('matching', 'bench/matching.ts', { PORT: String(matchingPort), BROKER_ISSUER: issuer });
  const broker = startChild(
    'broker',
    'broker/src/main.ts',
    {
      BROKER_ISSUER: issuer,
      PORT: String(brokerPort),
      HOST: '127.0.0.1',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: 'bench:',
      POLICIES_DIR: policies.dir,
      BROKER_SECRET: 'bench-secret-bench-secret-bench-secret-01',
      LOG_LEVEL: 'warn',
      ALLOW_INSECURE_IDPS: 'true',
      IDP_ISSUER_OVERRIDES: JSON.stringify({ [IDP]: stubIssuer }),
    },
    // One file per thread (tsx runs a loader thread): the biggest is the main thread's.
    profile ? ['--cpu-prof', `--cpu-prof-dir=${join(resultsDir, `broker-${stamp}`)}`] : [],
  );
  await waitFor(`${stubIssuer}/.well-known/openid-configuration`, stub);
  await waitFor(`${issuer}/healthz`, broker);
  await waitFor(`http://127.0.0.1:${matchingPort}/`, matching);

  const service = await serviceClient(issuer);
  const brokered = brokeredFlow(issuer, service);
  const bare = await bareFlow(stubIssuer, `${issuer}/idp/${IDP}/callback`);
  const r = new Redis(redis.url, { lazyConnect: false, maxRetriesPerRequest: 2 });

  // The picker offers an IdP only once its health check passed: wait (bounded) for that.
  for (let i = 0; ; i++) {
    try {
      await brokered.once();
      break;
    } catch (e) {
      if (i >= 40) throw new Error(`no brokered journey succeeds: ${(e as Error).message}`);
      await sleep(250);
    }
  }
  // Warm-up (JIT, caches, connection pools) for both flows, not measured.
  await runLoad(() => brokered.once(), 4, quick ? 12 : 40);
  await runLoad(() => bare.once(), 4, quick ? 12 : 40);

  const pids = { broker: broker.proc.pid!, stub: stub.proc.pid!, matching: matching.proc.pid! };
  const phases: PhaseResult[] = [];
  for (const { concurrency, journeys } of plan) {
    for (const flow of [bare, brokered] as Flow[]) {
      const before = { broker: cpuMs(pids.broker), stub: cpuMs(pids.stub), matching: cpuMs(pids.matching), driver: process.cpuUsage(), redis: await redisSnapshot(r) };
      const load = await runLoad(() => flow.once(), concurrency, journeys);
      const afterRedis = await redisSnapshot(r);
      const driver = process.cpuUsage(before.driver);
      const ok = load.latencies.length;
      const per = (x: number) => (ok ? x / ok : NaN);
      const sorted = [...load.latencies].sort((a, b) => a - b);
      const phase: PhaseResult = {
        flow: flow.name,
        concurrency,
        journeys: ok,
        errors: load.errors.length + (journeys - load.attempted),
        errorSamples: [...new Set(load.errors)].slice(0, 5),
        seconds: load.seconds,
        journeysPerSecond: ok / load.seconds,
        latencyMs: { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN },
        cpuMsPerJourney: {
          broker: per(cpuMs(pids.broker) - before.broker),
          stub: per(cpuMs(pids.stub) - before.stub),
          matching: per(cpuMs(pids.matching) - before.matching),
          driver: per((driver.user + driver.system) / 1000),
        },
        redis: {
          commandsPerJourney: per(afterRedis.commands - before.redis.commands),
          bytesPerJourney: per(afterRedis.bytes - before.redis.bytes),
          commandsPerJourneyByName: Object.fromEntries(
            Object.entries(afterRedis.byCommand)
              .map(([name, calls]) => [name, Math.round(per(calls - (before.redis.byCommand[name] ?? 0)) * 10) / 10] as const)
              .filter(([, n]) => n > 0),
          ),
        },
      };
      phases.push(phase);
      console.log(
        `  ${flow.name.padEnd(8)} c=${String(concurrency).padEnd(2)} ${ok} ok, ${phase.errors} errors, ${phase.journeysPerSecond.toFixed(1)}/s, p50 ${phase.latencyMs.p50.toFixed(0)} ms` +
          (phase.errorSamples.length ? `  (${phase.errorSamples.join(' | ')})` : ''),
      );
    }
  }

  // Redis memory per in-flight journey: N journeys held open at the picker.
  const mem0 = (await redisSnapshot(r)).usedMemory;
  const keys0 = await r.dbsize();
  const holding = await runLoad(() => brokered.hold(), 16, held);
  await sleep(200);
  const mem1 = (await redisSnapshot(r)).usedMemory;
  const keys1 = await r.dbsize();
  const heldOk = holding.latencies.length;
  const memory = {
    heldJourneys: heldOk,
    errors: holding.errors.length + (held - holding.attempted),
    errorSamples: [...new Set(holding.errors)].slice(0, 5),
    usedMemoryDeltaBytes: mem1 - mem0,
    bytesPerInFlightJourney: heldOk ? (mem1 - mem0) / heldOk : NaN,
    keysPerInFlightJourney: heldOk ? (keys1 - keys0) / heldOk : NaN,
    picker: { journeysPerSecond: heldOk / holding.seconds },
  };
  await r.quit();

  const cpuAt = (flow: 'brokered' | 'bare', c: number) => phases.find((p) => p.flow === flow && p.concurrency === c);
  const ratios = plan.map(({ concurrency }) => ({
    concurrency,
    brokerCpuPerJourneyOverStubCpuPerBareFlow: (cpuAt('brokered', concurrency)?.cpuMsPerJourney.broker ?? NaN) / (cpuAt('bare', concurrency)?.cpuMsPerJourney.stub ?? NaN),
  }));

  printTable(phases, memory, ratios);

  const result = {
    mode: quick ? 'quick' : 'full',
    at: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version, platform: `${process.platform} ${process.arch}` },
    setup: {
      note: 'all processes on one machine: the driver (this process), broker, IdP stub, matching process and redis-server share the cores',
      idp: IDP,
      vtr: VTR,
      identity: 'margaret (password + one-time code, matches CT-100234)',
      plan,
    },
    phases,
    memory,
    ratios,
    ...(profile ? { profileDir: join('bench/results', `broker-${stamp}`) } : {}),
  };
  const file = join(resultsDir, `${stamp}${quick ? '-quick' : ''}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwrote ${file.slice(root.length + 1)}${profile ? `; the broker's profile goes to bench/results/broker-${stamp}/ when it exits (summary: npx tsx bench/profile-summary.ts <the largest .cpuprofile there>)` : ''}`);
}

function printTable(phases: PhaseResult[], memory: { heldJourneys: number; bytesPerInFlightJourney: number; keysPerInFlightJourney: number; errors: number }, ratios: Array<{ concurrency: number; brokerCpuPerJourneyOverStubCpuPerBareFlow: number }>) {
  const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
  const head = ['flow', 'conc', 'ok', 'err', 'j/s', 'p50 ms', 'p95 ms', 'p99 ms', 'broker CPU ms/j', 'stub CPU ms/j', 'match CPU ms/j', 'redis cmd/j', 'redis B/j'];
  const rows = phases.map((p) => [
    p.flow,
    String(p.concurrency),
    String(p.journeys),
    String(p.errors),
    f(p.journeysPerSecond, 1),
    f(p.latencyMs.p50),
    f(p.latencyMs.p95),
    f(p.latencyMs.p99),
    p.flow === 'bare' ? '-' : f(p.cpuMsPerJourney.broker, 1),
    f(p.cpuMsPerJourney.stub, 1),
    p.flow === 'bare' ? '-' : f(p.cpuMsPerJourney.matching, 1),
    p.flow === 'bare' ? '-' : f(p.redis.commandsPerJourney, 1),
    p.flow === 'bare' ? '-' : f(p.redis.bytesPerJourney),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`\n${line(head)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${rows.map(line).join('\n')}`);
  for (const r of ratios) console.log(`broker CPU per brokered journey / stub CPU per bare flow at c=${r.concurrency}: ${f(r.brokerCpuPerJourneyOverStubCpuPerBareFlow, 2)}`);
  console.log(`Redis memory per in-flight journey (${memory.heldJourneys} held at the picker, ${memory.errors} errors): ${f(memory.bytesPerInFlightJourney)} bytes, ${f(memory.keysPerInFlightJourney, 1)} keys`);
}

const watchdog = setTimeout(() => {
  console.error(`bench: gave up after ${quick ? 3 : 30} minutes`);
  void shutdown(1);
}, (quick ? 3 : 30) * 60_000);
watchdog.unref();

main().then(
  () => shutdown(0),
  (e: unknown) => {
    console.error(`bench failed: ${(e as Error).stack ?? String(e)}`);
    void shutdown(1);
  },
);
