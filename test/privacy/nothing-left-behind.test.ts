/**
 * "Nothing personal left behind" (issue 12, point 3), on a real Redis, one node and a Cluster:
 * what a citizen types into the case lookup never becomes a store key; OIDC session, grant and
 * interaction records go when the journey ends and never outlive its deadline; staff notes are
 * sealed and deleted when a case closes; open cases with no activity close after the policy's
 * period and drop the citizen's text.
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { startRedisCluster, type RedisClusterHandle } from '../support/redis-cluster.js';
import { startFederation, type Federation } from '../support/federation.js';
import { BrowserClient, getText } from '../support/browser-client.js';
import { storeScanner, type StoreScanner } from '../support/store-scan.js';

type Topology = { options: { redisUrl: string } | { redisCluster: { nodes: string[] } }; nodes: string[]; stop(): Promise<void> };

const topologies: Array<[string, () => Promise<Topology>]> = [
  ['one Redis node', async () => ({ options: { redisUrl: inject('redisUrl') }, nodes: [inject('redisUrl')], stop: async () => undefined })],
  [
    'a Redis Cluster',
    async () => {
      const cluster: RedisClusterHandle = await startRedisCluster({ masters: 3 });
      return { options: { redisCluster: { nodes: cluster.nodes } }, nodes: cluster.nodes, stop: () => cluster.stop() };
    },
  ],
];

describe.each(topologies)('nothing personal left behind, on %s', (_name, startTopology) => {
  let topology: Topology;
  let fed: Federation;
  let scan: StoreScanner;
  let prefix: string;
  beforeAll(async () => {
    topology = await startTopology();
    fed = await startFederation({ ...topology.options, idps: ['civic-id'] });
    scan = storeScanner(topology.nodes);
    prefix = fed.brokers[0]!.config.keyPrefix;
  }, 60_000);
  afterAll(async () => {
    await scan?.close();
    await fed?.close();
    await topology?.stop();
  });
  // Each test starts with no rate-limit counters (all lookups come from one address).
  afterEach(async () => {
    await scan.del(`${prefix}rl:`);
  });

  async function lookUp(reference: string, browser = new BrowserClient()) {
    const form = await getText(await browser.fetch(`${fed.issuer}/support/case`));
    const response = await browser.submitForm(form, `${fed.issuer}/support/case`, { formSelector: 'lookup-form', fields: { reference } });
    return { status: response.status, html: await getText(response) };
  }

  describe('rate limits', () => {
    it('what a citizen types into the case lookup is never a store key: rate-limit keys hold a keyed hash of it', async () => {
      const typed = 'Margaret Okafor 07700 900123';
      expect((await lookUp(typed)).status).toBe(404);
      const limits = (await scan.all(`${prefix}rl:`)).map((k) => ({ ...k, key: k.key.slice(prefix.length) }));
      // One counter per client address and one per reference typed, each a 256-bit keyed hash.
      expect(limits.length).toBe(2);
      for (const { key, values, ttlMs } of limits) {
        expect(key).toMatch(/^rl:[a-z-]+:\{[A-Za-z0-9_-]{43}\}$/);
        expect(values).toEqual(['1']);
        expect(ttlMs).toBeGreaterThan(0);
      }
      // Nothing typed (as typed, or as the broker normalises it) and no client address is held anywhere.
      const everything = JSON.stringify(await scan.all(prefix));
      for (const clue of [typed, typed.toUpperCase().replace(/[^0-9A-Z]/g, ''), 'MARGARET', 'Okafor', 'OKAFOR', '900123', '127.0.0.1']) {
        expect(everything, `the store holds "${clue}"`).not.toContain(clue);
      }
    });

    it('the same text typed twice counts against the same hashed key; other text against another', async () => {
      await lookUp('ABCD-EFGH-JKMN-P');
      await lookUp('abcd efgh jkmn p');
      await lookUp('WXYZ-WXYZ-WXYZ-W');
      const counts = (await scan.all(`${prefix}rl:case-ref:`)).map((k) => k.values[0]).sort();
      expect(counts).toEqual(['1', '2']);
    });

    it('the lookup is still limited per client: the eleventh lookup in ten minutes is refused with 429', async () => {
      for (let i = 0; i < 10; i++) expect((await lookUp(`NOPE-NOPE-NOPE-${i}`)).status).toBe(404);
      const refused = await lookUp('NOPE-NOPE-NOPE-X');
      expect(refused.status).toBe(429);
    });
  });
});
