/**
 * `npx tsx --conditions=@idbroker/source bench/trace-journey.ts`: one brokered journey (the
 * bench's: margaret, Cl.Cm.P2, matched) on a fresh Redis, with every Redis command the broker
 * sends listed under the HTTP request that caused it (Redis MONITOR; a marker is written before
 * each request the citizen or the service makes to the broker). Shows where round trips go.
 */
import { Redis } from 'ioredis';
import { loadRecords, matchAccount } from '../relying-party-sdk/examples/council-tax/records.js';
import { Citizen } from '../test/support/citizen.js';
import { startFederation } from '../test/support/federation.js';
import { freePort, sdkMatchingEndpoint } from '../test/support/matching-service.js';
import { startRedis } from '../test/support/redis.js';

const redis = await startRedis();
const matchingPort = await freePort();
const records = loadRecords();
let fed: Awaited<ReturnType<typeof startFederation>> | undefined;
const matching = await sdkMatchingEndpoint(matchingPort, { brokerIssuer: 'pending', match: (who) => matchAccount(records, who) }).catch(() => undefined);
await matching?.close();
try {
  fed = await startFederation({ redisUrl: redis.url, idps: ['civic-id'], matchingUrl: `http://127.0.0.1:${matchingPort}/matching` });
  const endpoint = await sdkMatchingEndpoint(matchingPort, { brokerIssuer: fed.issuer, match: (who) => matchAccount(records, who) });
  const service = await fed.service();
  const citizen = new Citizen(fed);
  // Warm up (discovery of the IdP, health check) with one journey, then trace the next.
  for (let i = 0; ; i++) {
    try {
      const c = new Citizen(fed);
      await c.start(service, { vtr: ['Cl.Cm.P2'] });
      await c.verifyWith('civic-id', 'margaret');
      await c.consent('approve');
      await c.collect();
      break;
    } catch (e) {
      if (i > 20) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  const monitor = new Redis(redis.url);
  const marker = new Redis(redis.url);
  const lines: string[] = [];
  const m = await monitor.monitor();
  // Commands a Lua script runs (source "lua") are marked: they count as commands, not round trips.
  m.on('monitor', (_t: string, args: string[], source: string) => lines.push(`${source === 'lua' ? 'lua ' : ''}${args.map((a) => (a.length > 40 && args[0] !== 'echo' ? `${a.slice(0, 37)}...` : a)).join(' ')}`));
  const brokerOrigin = new URL(fed.issuer).origin;
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.origin === brokerOrigin) await marker.echo(`>>> ${init?.method ?? (input instanceof Request ? input.method : 'GET')} ${url.pathname.replace(/[A-Za-z0-9_-]{20,}/g, ":id")}`);
    return realFetch(input, init);
  }) as typeof fetch;

  await citizen.start(service, { vtr: ['Cl.Cm.P2'] });
  await citizen.verifyWith('civic-id', 'margaret');
  await citizen.consent('approve');
  const { claims } = await citizen.collect();
  await marker.echo('>>> end');
  await new Promise((r) => setTimeout(r, 300));
  globalThis.fetch = realFetch;

  const per: Array<{ request: string; commands: number; roundTrips: number; lines: string[] }> = [];
  let inMulti = false;
  for (const line of lines) {
    if (line.startsWith('echo >>> ')) {
      per.push({ request: line.slice('echo >>> '.length), commands: 0, roundTrips: 0, lines: [] });
      continue;
    }
    const entry = per.at(-1);
    if (!entry || entry.request === 'end') continue;
    entry.commands++;
    const inScript = line.startsWith('lua ');
    if (!inMulti && !inScript) entry.roundTrips++;
    entry.lines.push(`${inMulti || inScript ? '    ' : '  '}${inScript ? line.slice(4) : line}`);
    if (line.startsWith('multi')) inMulti = true;
    if (line.startsWith('exec')) inMulti = false;
  }
  let total = 0;
  let trips = 0;
  for (const e of per.filter((x) => x.request !== 'end')) {
    console.log(`${e.request}: ${e.commands} commands, ${e.roundTrips} round trips (a MULTI or a script once, with the commands in it; concurrent commands counted apart)`);
    for (const l of e.lines) console.log(l);
    total += e.commands;
    trips += e.roundTrips;
  }
  console.log(`total: ${total} commands, ${trips} round trips; match ${JSON.stringify(claims.match)}`);
  monitor.disconnect();
  marker.disconnect();
  await endpoint.close();
} finally {
  await fed?.close();
  await redis.destroy();
}
process.exit(0);
