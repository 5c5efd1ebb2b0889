/**
 * `npm run bench [-- --quick] [-- --profile] [-- --rounds=N]`: brokered journeys against a bare
 * OpenID Connect code flow, on the same machine and the same Redis, in the same run.
 *
 * Starts, each on a free loopback port and in its own child process: redis-server (no
 * persistence), the broker (`broker/src/main.ts`, REDIS_URL set, LOG_LEVEL=warn), one IdP stub
 * (`idp-stub/src/main.ts`, civic-id), the example service's matching endpoint
 * (`bench/matching.ts`) and the baseline, a bare oidc-provider (`bench/bare-provider.ts`) on the
 * same Redis whose login does no password hashing. Then, from this process, with a cookie jar
 * and no browser:
 *   - brokered: the service's authorize (openid-client, private_key_jwt, PKCE) -> picker ->
 *     IdP sign-in (password + one-time code, margaret, Cl.Cm.P2) -> consent -> matching ->
 *     code exchange (ID token signature checked) and userinfo;
 *   - baseline: one bare code flow: authorize (private_key_jwt, PKCE) -> login page -> login ->
 *     code exchange (ID token signature checked) and userinfo.
 * Each round runs both flows at each concurrency (1, 8, 32, 64; --quick: 1 and 8), baseline
 * first; rounds repeat (--rounds, default 3, --quick 1) so the spread of CPU per journey shows.
 * Per flow and concurrency: CPU ms per journey of every process (/proc/<pid>/stat: the whole
 * process, all threads, as process.cpuUsage() inside it would count), the ratio broker CPU per
 * brokered journey / bare provider CPU per flow, Redis commands (server INFO commandstats) and
 * round trips (counted client-side by the broker's store and the bare provider: a pipeline or
 * MULTI counts once) and bytes per journey, journeys/s, latency percentiles, errors, the
 * broker's memory. Then N journeys (10,000; --quick 500) are held at the picker: Redis and broker
 * memory per held journey, and one more round at concurrency 8 with them held.
 * Prints a table and writes bench/results/<timestamp>.json (and .cpuprofile with --profile).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes, scryptSync } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import * as client from 'openid-client';
import { defaultPoliciesDir } from '@idbroker/policies';
import { defaultIdentitiesFile } from '@idbroker/idp-stub';
import { BrowserClient, getText } from '../test/support/browser-client.js';
import { Citizen } from '../test/support/citizen.js';
import type { Federation, TestService } from '../test/support/federation.js';
import { freePort } from '../test/support/ports.js';
import { testPolicies, type TestPolicies } from '../test/support/policies.js';
import { startRedis, type RedisServer } from '../test/support/redis.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = join(root, 'bench', 'results');
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const profile = argv.includes('--profile');
const roundsArg = argv.find((a) => a.startsWith('--rounds='));
for (const a of argv) if (!['--quick', '--profile'].includes(a) && a !== roundsArg) throw new Error(`unknown option ${a} (use --quick, --profile, --rounds=N)`);
const rounds = roundsArg ? Number(roundsArg.slice('--rounds='.length)) : quick ? 1 : 3;
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new Error(`--rounds must be a whole number from 1 to 20, got ${roundsArg}`);

const IDP = 'civic-id';
const PASSWORD = 'demo-password';
const VTR = ['Cl.Cm.P2'];
const ATTRIBUTES = ['given_name', 'family_name', 'birthdate', 'address'];
const SERVICE_REDIRECT = 'http://localhost:3200/callback';
const JOURNEY_TIMEOUT_MS = 120_000; // generous: on 2 cores shared with other work, a journey at concurrency 64 waits its turn
const PHASE_TIMEOUT_MS = quick ? 90_000 : 300_000;

/** Journeys per concurrency level and round (the same for both flows). */
const plan: Array<{ concurrency: number; journeys: number }> = quick
  ? [
      { concurrency: 1, journeys: 15 },
      { concurrency: 8, journeys: 60 },
    ]
  : [
      { concurrency: 1, journeys: 20 },
      { concurrency: 8, journeys: 80 },
      { concurrency: 32, journeys: 128 },
      { concurrency: 64, journeys: 192 },
    ];
const held = quick ? 500 : 10_000;
/** How many were actually held (the phase time limit may stop short of `held`). */
let heldCount = 0;
/** The round run while the held journeys sit in Redis. */
const heldPlan = { concurrency: 8, journeys: quick ? 40 : 80 };

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
async function waitFor(url: string, child: Child, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
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

/**
 * read/write system calls a process made so far (syscr + syscw of /proc/<pid>/io: read, write,
 * writev and the like, socket traffic included). Unlike CPU time, this count does not grow with the
 * machine's load: each Redis round trip and each HTTP exchange costs the process at least one
 * write and one read, and on this machine a loopback write is 50-200 us of CPU.
 */
function syscalls(pid: number): number {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const num = (key: string) => Number(new RegExp(`^${key}: (\\d+)`, 'm').exec(io)?.[1] ?? NaN);
  return num('syscr') + num('syscw');
}

/** Resident memory of a process in bytes, from /proc/<pid>/status. */
function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Requests the broker sent to Redis so far, as its store counts them (from its /metrics). */
async function brokerStoreStats(issuer: string): Promise<{ roundTrips: number; commands: number; heapUsed: number }> {
  const text = await (await fetch(`${issuer}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { roundTrips: value('broker_store_round_trips_total'), commands: value('broker_store_commands_total'), heapUsed: value('broker_nodejs_heap_size_used_bytes') };
}

/** The same from the bare provider (its adapter counts). */
async function bareStoreStats(url: string): Promise<{ roundTrips: number; commands: number }> {
  return (await (await fetch(`${url}/bench-stats`)).json()) as { roundTrips: number; commands: number };
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
  name: FlowName;
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

/** The baseline: one bare code flow at the bare provider (bench/bare-provider.ts). */
async function baselineFlow(bareIssuer: string): Promise<Flow> {
  const key = devKey('example-service.private.jwk.json');
  const privateKey = await crypto.subtle.importKey('jwk', key as JsonWebKey, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const config = await client.discovery(
    new URL(bareIssuer),
    'bench-service',
    { id_token_signed_response_alg: 'ES256' },
    client.PrivateKeyJwt({ key: privateKey, kid: String(key.kid) }),
    { execute: [client.allowInsecureRequests] },
  );
  client.enableNonRepudiationChecks(config);
  const origin = new URL(bareIssuer).origin;
  return {
    name: 'baseline',
    async once() {
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
        claims: JSON.stringify({ id_token: Object.fromEntries(ATTRIBUTES.map((a) => [a, null])) }),
      });
      const browser = new BrowserClient();
      const page = await browser.follow(url, { stopAt: (u) => u.origin !== origin });
      if (page.response.status !== 200) throw new Error(`bare login page: ${page.response.status}`);
      const submitted = await browser.submitForm(await getText(page.response), page.url, { formSelector: 'sign-in', fields: { username: 'margaret', password: 'any' } });
      const location = submitted.headers.get('location');
      await submitted.body?.cancel();
      if (!location) throw new Error(`bare login: ${submitted.status}`);
      const back = await browser.follow(new URL(location, page.url), { stopAt: (u) => u.origin !== origin });
      const callback = new URL(back.response.headers.get('location') ?? '', back.url);
      await back.response.body?.cancel();
      if (callback.origin === origin || !callback.searchParams.get('code')) throw new Error(`bare flow did not return a code (${back.response.status} ${callback.href})`);
      const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
      const claims = tokens.claims() as Record<string, unknown>;
      if (claims.given_name !== 'Margaret') throw new Error('unexpected ID token from the bare provider');
      const userinfo = (await client.fetchUserInfo(config, tokens.access_token, String(claims.sub))) as Record<string, unknown>;
      if (userinfo.sub !== claims.sub) throw new Error('userinfo does not match');
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
const median = (xs: number[]) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const round1 = (n: number, d = 1) => (Number.isFinite(n) ? Math.round(n * 10 ** d) / 10 ** d : null);

type FlowName = 'brokered' | 'baseline';

/** One measured phase: one flow, one concurrency, one round. */
interface Phase {
  flow: FlowName;
  round: number | 'held';
  concurrency: number;
  journeys: number;
  /** Journeys that failed (or took more than JOURNEY_TIMEOUT_MS). */
  errors: number;
  /** Journeys not started because the phase reached PHASE_TIMEOUT_MS (a slow machine, not a failure). */
  notRun: number;
  errorSamples: string[];
  seconds: number;
  latencies: number[];
  /** CPU ms per successful journey, by process. */
  cpu: { broker: number; bare: number; stub: number; matching: number; driver: number; redis: number };
  /** read/write system calls per successful journey: the broker's, the bare provider's. */
  syscalls: { broker: number; bare: number };
  redisCommands: number;
  redisRoundTrips: number;
  redisBytes: number;
  byCommand: Record<string, number>;
  brokerRssBytes: number;
  brokerHeapUsedBytes: number;
  loadAverage: number;
}

interface Pids {
  broker: number;
  bare: number;
  stub: number;
  matching: number;
  redis: number;
}

async function measure(flow: Flow, round: number | 'held', concurrency: number, journeys: number, ctx: { pids: Pids; r: Redis; issuer: string; bareUrl: string }): Promise<Phase> {
  const { pids, r } = ctx;
  const storeStats = (): Promise<{ roundTrips: number; commands: number; heapUsed?: number }> => (flow.name === 'brokered' ? brokerStoreStats(ctx.issuer) : bareStoreStats(ctx.bareUrl));
  const cpuNow = () => ({ broker: cpuMs(pids.broker), bare: cpuMs(pids.bare), stub: cpuMs(pids.stub), matching: cpuMs(pids.matching), redis: cpuMs(pids.redis) });
  const beforeStore = await storeStats();
  const beforeRedis = await redisSnapshot(r);
  const before = cpuNow();
  const sys0 = { broker: syscalls(pids.broker), bare: syscalls(pids.bare) };
  const beforeDriver = process.cpuUsage();
  const load = await runLoad(() => flow.once(), concurrency, journeys);
  const after = cpuNow();
  const sys1 = { broker: syscalls(pids.broker), bare: syscalls(pids.bare) };
  const driver = process.cpuUsage(beforeDriver);
  const afterRedis = await redisSnapshot(r);
  const afterStore = await storeStats();
  const ok = load.latencies.length;
  const per = (x: number) => (ok ? x / ok : NaN);
  const heap = afterStore.heapUsed ?? (await brokerStoreStats(ctx.issuer)).heapUsed;
  return {
    flow: flow.name,
    round,
    concurrency,
    journeys: ok,
    errors: load.errors.length,
    notRun: journeys - load.attempted,
    errorSamples: [...new Set(load.errors)].slice(0, 5),
    seconds: load.seconds,
    latencies: load.latencies,
    cpu: {
      broker: per(after.broker - before.broker),
      bare: per(after.bare - before.bare),
      stub: per(after.stub - before.stub),
      matching: per(after.matching - before.matching),
      redis: per(after.redis - before.redis),
      driver: per((driver.user + driver.system) / 1000),
    },
    syscalls: { broker: per(sys1.broker - sys0.broker), bare: per(sys1.bare - sys0.bare) },
    redisCommands: per(afterRedis.commands - beforeRedis.commands),
    redisRoundTrips: per(afterStore.roundTrips - beforeStore.roundTrips),
    redisBytes: per(afterRedis.bytes - beforeRedis.bytes),
    byCommand: Object.fromEntries(
      Object.entries(afterRedis.byCommand)
        .map(([name, calls]) => [name, round1(per(calls - (beforeRedis.byCommand[name] ?? 0)))!] as const)
        .filter(([, n]) => n > 0),
    ),
    brokerRssBytes: rssBytes(pids.broker),
    brokerHeapUsedBytes: heap,
    loadAverage: loadavg()[0]!,
  };
}

/** The result for one flow at one concurrency, over the rounds (the JSON's `results`). */
function summarise(phases: Phase[], flow: FlowName, concurrency: number, round: 'rounds' | 'held') {
  const own = phases.filter((p) => p.flow === flow && p.concurrency === concurrency && (round === 'held' ? p.round === 'held' : p.round !== 'held'));
  const brokered = phases.filter((p) => p.flow === 'brokered' && p.concurrency === concurrency && (round === 'held' ? p.round === 'held' : p.round !== 'held'));
  const baseline = phases.filter((p) => p.flow === 'baseline' && p.concurrency === concurrency && (round === 'held' ? p.round === 'held' : p.round !== 'held'));
  if (!own.length) return undefined;
  const ok = own.reduce((n, p) => n + p.journeys, 0);
  const weighted = (f: (p: Phase) => number) => own.reduce((n, p) => n + f(p) * p.journeys, 0) / ok;
  const sorted = own.flatMap((p) => p.latencies).sort((a, b) => a - b);
  const brokerCpu = brokered.map((p) => p.cpu.broker);
  const baselineCpu = baseline.map((p) => p.cpu.bare);
  // Ratio per round (the two flows ran one after the other, under the same load), then the median.
  const ratios = brokered.map((b) => b.cpu.broker / (baseline.find((x) => x.round === b.round)?.cpu.bare ?? NaN)).filter(Number.isFinite);
  const spread = (xs: number[]) => ({ min: round1(Math.min(...xs)), max: round1(Math.max(...xs)), values: xs.map((x) => round1(x)) });
  return {
    flow,
    concurrency,
    ...(round === 'held' ? { withHeldJourneys: heldCount } : {}),
    rounds: own.length,
    journeys: ok,
    errors: own.reduce((n, p) => n + p.errors, 0),
    notRun: own.reduce((n, p) => n + p.notRun, 0),
    errorSamples: [...new Set(own.flatMap((p) => p.errorSamples))].slice(0, 5),
    brokerCpuMsPerJourney: round1(median(brokerCpu), 2),
    baselineCpuMsPerFlow: round1(median(baselineCpu), 2),
    ratio: round1(median(ratios), 3),
    spread: { brokerCpuMsPerJourney: spread(brokerCpu), baselineCpuMsPerFlow: spread(baselineCpu), ratio: ratios.map((x) => round1(x, 3)) },
    brokerSyscallsPerJourney: round1(median(brokered.map((p) => p.syscalls.broker))),
    baselineSyscallsPerFlow: round1(median(baseline.map((p) => p.syscalls.bare))),
    redisCommandsPerJourney: round1(weighted((p) => p.redisCommands)),
    redisRoundTripsPerJourney: round1(weighted((p) => p.redisRoundTrips)),
    redisBytesPerJourney: Math.round(weighted((p) => p.redisBytes)),
    journeysPerSecond: round1(ok / own.reduce((n, p) => n + p.seconds, 0)),
    p50Ms: round1(percentile(sorted, 50), 0),
    p95Ms: round1(percentile(sorted, 95), 0),
    p99Ms: round1(percentile(sorted, 99), 0),
    cpuMsPerJourneyByProcess: {
      broker: round1(median(own.map((p) => p.cpu.broker))),
      bareProvider: round1(median(own.map((p) => p.cpu.bare))),
      idpStub: round1(median(own.map((p) => p.cpu.stub))),
      matching: round1(median(own.map((p) => p.cpu.matching))),
      redisServer: round1(median(own.map((p) => p.cpu.redis))),
      loadGenerator: round1(median(own.map((p) => p.cpu.driver))),
    },
    redisCommandsPerJourneyByName: own.at(-1)!.byCommand,
    brokerRssMB: round1(Math.max(...own.map((p) => p.brokerRssBytes)) / 2 ** 20),
    brokerHeapUsedMB: round1(Math.max(...own.map((p) => p.brokerHeapUsedBytes)) / 2 ** 20),
    loadAverage: spread(own.map((p) => p.loadAverage)),
  };
}
type Result = NonNullable<ReturnType<typeof summarise>>;

// ---------------------------------------------------------------------------------------------

async function main() {
  mkdirSync(resultsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  console.log(`bench: ${quick ? 'quick' : 'full'} run, ${rounds} round(s)${profile ? ', profiling the broker' : ''}; ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)}`);

  redis = await startRedis(); // --save '' --appendonly no, on a free loopback port
  const [brokerPort, stubPort, matchingPort, barePort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const issuer = `http://127.0.0.1:${brokerPort}`;
  const stubIssuer = `http://127.0.0.1:${stubPort}`;
  const bareIssuer = `http://127.0.0.1:${barePort}`;
  const matchingUrl = `http://127.0.0.1:${matchingPort}/matching`;
  const others = ['swift-verify', 'community-vouch'];
  policies = testPolicies({
    idps: { [IDP]: { issuer: stubIssuer }, ...Object.fromEntries(others.map((o) => [o, { status: 'suspended' }])) },
    rps: { 'example-council-tax': { matching: { url: matchingUrl, timeout_ms: 5000, extra_attribute: 'ni_number', account_creation: false } } },
  });
  policies.load(); // valid, or a clear error now
  // The stub's demo identities with a cheaper scrypt (N=1024 instead of 16384, about 3 ms instead
  // of 42 ms a sign-in): the stub's password check is not what is measured, and on 2 shared cores
  // it would only slow every other process down. verifyPassword reads N from the hash.
  const identitiesFile = join(policies.dir, 'bench-identities.yaml');
  const salt = randomBytes(16);
  const cheapHash = `scrypt$1024$8$1$${salt.toString('base64url')}$${scryptSync(PASSWORD.normalize('NFKC'), salt, 32, { N: 1024, r: 8, p: 1 }).toString('base64url')}`;
  writeFileSync(identitiesFile, readFileSync(defaultIdentitiesFile, 'utf8').replace(/password_hash: "scrypt\$[^"]+"/g, () => `password_hash: "${cheapHash}"`));

  const stub = startChild('idp-stub', 'idp-stub/src/main.ts', { POLICIES_DIR: policies.dir, BROKER_ISSUER: issuer, IDP_STUB_ONLY: IDP, IDP_STUB_IDENTITIES: identitiesFile });
  const matching = startChild('matching', 'bench/matching.ts', { PORT: String(matchingPort), BROKER_ISSUER: issuer });
  const bare = startChild('bare-provider', 'bench/bare-provider.ts', { PORT: String(barePort), ISSUER: bareIssuer, REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'bare:', CLIENT_REDIRECT_URI: SERVICE_REDIRECT });
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
  await waitFor(`${bareIssuer}/.well-known/openid-configuration`, bare);
  await waitFor(`${issuer}/healthz`, broker);
  await waitFor(`http://127.0.0.1:${matchingPort}/`, matching);

  const service = await serviceClient(issuer);
  const brokered = brokeredFlow(issuer, service);
  const baseline = await baselineFlow(bareIssuer);
  const r = new Redis(redis.url, { lazyConnect: false, maxRetriesPerRequest: 2 });
  const redisPid = Number(/^process_id:(\d+)/m.exec(await r.info('server'))?.[1]);

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
  await baseline.once();
  // Warm-up (JIT, caches, connection pools) for both flows, not measured.
  await runLoad(() => brokered.once(), 4, quick ? 12 : 40);
  await runLoad(() => baseline.once(), 4, quick ? 12 : 40);

  const ctx = { pids: { broker: broker.proc.pid!, bare: bare.proc.pid!, stub: stub.proc.pid!, matching: matching.proc.pid!, redis: redisPid }, r, issuer, bareUrl: bareIssuer };
  const phases: Phase[] = [];
  const report = (p: Phase) =>
    console.log(
      `  round ${p.round} ${p.flow.padEnd(8)} c=${String(p.concurrency).padEnd(2)} ${p.journeys} ok, ${p.errors} errors${p.notRun ? ` (${p.notRun} not run: phase time limit)` : ''}, ${(p.journeys / p.seconds).toFixed(1)}/s, ` +
        `${(p.flow === 'brokered' ? p.cpu.broker : p.cpu.bare).toFixed(1)} ms CPU/journey (${p.flow === 'brokered' ? 'broker' : 'bare provider'}), ${(p.flow === 'brokered' ? p.syscalls.broker : p.syscalls.bare).toFixed(0)} syscalls/journey, load ${p.loadAverage.toFixed(1)}` +
        (p.errorSamples.length ? `  (${p.errorSamples.join(' | ')})` : ''),
    );
  for (let round = 1; round <= rounds; round++) {
    for (const { concurrency, journeys } of plan) {
      for (const flow of [baseline, brokered]) {
        const p = await measure(flow, round, concurrency, journeys, ctx);
        phases.push(p);
        report(p);
      }
    }
  }

  // Memory per in-flight journey: N journeys held open at the picker.
  const mem0 = (await redisSnapshot(r)).usedMemory;
  const keys0 = await r.dbsize();
  const rss0 = rssBytes(ctx.pids.broker);
  const cpu0 = cpuMs(ctx.pids.broker);
  const stats0 = await brokerStoreStats(issuer);
  const holding = await runLoad(() => brokered.hold(), 16, held);
  await sleep(200);
  const mem1 = (await redisSnapshot(r)).usedMemory;
  const keys1 = await r.dbsize();
  const heldOk = holding.latencies.length;
  heldCount = heldOk;
  const stats1 = await brokerStoreStats(issuer);
  const memory = {
    heldJourneys: heldOk,
    errors: holding.errors.length,
    notRun: held - holding.attempted,
    errorSamples: [...new Set(holding.errors)].slice(0, 5),
    redisUsedMemoryDeltaBytes: mem1 - mem0,
    redisBytesPerHeldJourney: heldOk ? Math.round((mem1 - mem0) / heldOk) : NaN,
    redisKeysPerHeldJourney: heldOk ? round1((keys1 - keys0) / heldOk) : NaN,
    brokerRssDeltaMB: round1((rssBytes(ctx.pids.broker) - rss0) / 2 ** 20),
    brokerRssBytesPerHeldJourney: heldOk ? Math.round((rssBytes(ctx.pids.broker) - rss0) / heldOk) : NaN,
    picker: {
      journeysPerSecond: round1(heldOk / holding.seconds),
      brokerCpuMsPerJourney: heldOk ? round1((cpuMs(ctx.pids.broker) - cpu0) / heldOk, 2) : NaN,
      redisRoundTripsPerJourney: heldOk ? round1((stats1.roundTrips - stats0.roundTrips) / heldOk) : NaN,
    },
  };
  console.log(`  held ${heldOk} journeys at the picker (${memory.errors} errors): ${memory.redisBytesPerHeldJourney} B of Redis each`);
  // One more round while they are held: does a journey cost more with a big Redis?
  for (const flow of [baseline, brokered]) {
    const p = await measure(flow, 'held', heldPlan.concurrency, heldPlan.journeys, ctx);
    phases.push(p);
    report(p);
  }
  await r.quit();

  const results: Result[] = [];
  for (const { concurrency } of plan) for (const flow of ['baseline', 'brokered'] as const) results.push(summarise(phases, flow, concurrency, 'rounds')!);
  for (const flow of ['baseline', 'brokered'] as const) results.push(summarise(phases, flow, heldPlan.concurrency, 'held')!);
  const at = (c: number) => results.find((x) => x.flow === 'brokered' && x.concurrency === c && !('withHeldJourneys' in x));
  const targets = {
    ratioAt8: { target: 1.5, measured: at(8)?.ratio ?? null },
    redisRoundTripsPerJourney: { target: 20, measured: at(8)?.redisRoundTripsPerJourney ?? null },
    redisCommandsPerJourney: { target: 40, measured: at(8)?.redisCommandsPerJourney ?? null },
    cpuAt1OverCpuAt8: { target: 1.3, measured: round1((at(1)?.brokerCpuMsPerJourney ?? NaN) / (at(8)?.brokerCpuMsPerJourney ?? NaN), 2) },
  };

  printTable(results, memory, targets);

  const result = {
    mode: quick ? 'quick' : 'full',
    at: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version, platform: `${process.platform} ${process.arch}` },
    setup: {
      note: 'all processes on one machine: the load generator (this process), broker, IdP stub, matching process, bare provider and redis-server share the cores, and so does anything else running on the machine (see loadAverage)',
      baseline: 'bench/bare-provider.ts: oidc-provider, one code flow per journey on the same Redis, login without password hashing, private_key_jwt + PKCE, ES256 ID token, userinfo',
      ratio: 'broker CPU per brokered journey / bare provider CPU per baseline flow, per round (the two ran one after the other), median over the rounds',
      idp: IDP,
      vtr: VTR,
      identity: 'margaret (password + one-time code, matches CT-100234)',
      rounds,
      plan,
      heldPlan,
    },
    results,
    targets,
    memory,
    phases: phases.map(({ latencies: _l, ...p }) => p),
    ...(profile ? { profileDir: join('bench/results', `broker-${stamp}`) } : {}),
  };
  const file = join(resultsDir, `${stamp}${quick ? '-quick' : ''}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwrote ${file.slice(root.length + 1)}${profile ? `; the broker's profile goes to bench/results/broker-${stamp}/ when it exits (summary: npx tsx bench/profile-summary.ts <the largest .cpuprofile there>)` : ''}`);
}

function printTable(results: Result[], memory: { heldJourneys: number; redisBytesPerHeldJourney: number; redisKeysPerHeldJourney: number | null; brokerRssDeltaMB: number | null; errors: number; notRun: number }, targets: Record<string, { target: number; measured: number | null }>) {
  const f = (n: number | null | undefined, d = 0) => (n !== null && n !== undefined && Number.isFinite(n) ? n.toFixed(d) : '-');
  const head = ['flow', 'conc', 'ok', 'err', 'j/s', 'p50 ms', 'p99 ms', 'broker CPU ms/j (min-max)', 'bare CPU ms/flow (min-max)', 'ratio', 'syscalls/j', 'stub', 'match', 'driver', 'redis cmd/j', 'redis rt/j', 'redis B/j', 'broker RSS MB'];
  const rows = results.map((x) => {
    const own = x.flow === 'brokered';
    const b = x.spread.brokerCpuMsPerJourney;
    const s = x.spread.baselineCpuMsPerFlow;
    return [
      x.flow + ('withHeldJourneys' in x ? ` (+${x.withHeldJourneys} held)` : ''),
      String(x.concurrency),
      String(x.journeys),
      `${x.errors}${x.notRun ? ` (+${x.notRun} not run)` : ''}`,
      f(x.journeysPerSecond, 1),
      f(x.p50Ms),
      f(x.p99Ms),
      own ? `${f(x.brokerCpuMsPerJourney, 1)} (${f(b.min, 1)}-${f(b.max, 1)})` : '',
      own ? '' : `${f(x.baselineCpuMsPerFlow, 1)} (${f(s.min, 1)}-${f(s.max, 1)})`,
      own ? f(x.ratio, 2) : '',
      f(own ? x.brokerSyscallsPerJourney : x.baselineSyscallsPerFlow, 0),
      own ? f(x.cpuMsPerJourneyByProcess.idpStub, 1) : '',
      own ? f(x.cpuMsPerJourneyByProcess.matching, 1) : '',
      f(x.cpuMsPerJourneyByProcess.loadGenerator, 1),
      f(x.redisCommandsPerJourney, 1),
      f(x.redisRoundTripsPerJourney, 1),
      f(x.redisBytesPerJourney),
      f(x.brokerRssMB, 0),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`\n${line(head)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${rows.map(line).join('\n')}`);
  console.log('ratio = broker CPU per brokered journey / bare provider CPU per baseline flow (median of the rounds). syscalls/j: read/write system calls per journey of the broker (brokered) or the bare provider (baseline). stub, match, driver: CPU ms per journey of the IdP stub (its scrypt included), the matching process, the load generator.');
  for (const [name, t] of Object.entries(targets)) console.log(`target ${name}: ${f(t.measured, 2)} (target <= ${t.target}) ${t.measured !== null && t.measured <= t.target ? 'met' : 'NOT met'}`);
  console.log(`Held at the picker: ${memory.heldJourneys} journeys (${memory.errors} errors, ${memory.notRun} not run), ${f(memory.redisBytesPerHeldJourney)} bytes and ${f(memory.redisKeysPerHeldJourney, 1)} keys of Redis each; broker RSS ${f(memory.brokerRssDeltaMB, 1)} MB more`);
}

const watchdog = setTimeout(() => {
  console.error(`bench: gave up after ${quick ? 10 : 90} minutes`);
  void shutdown(1);
}, (quick ? 10 : 90) * 60_000);
watchdog.unref();

main().then(
  () => shutdown(0),
  (e: unknown) => {
    console.error(`bench failed: ${(e as Error).stack ?? String(e)}`);
    void shutdown(1);
  },
);
