/**
 * The privacy invariants, each shown over real HTTP with real IdP stubs and a real Redis:
 * the IdP never learns the service; the service never learns the IdP; pairwise subjects;
 * nothing about the person at rest or in the logs after the journey.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { subjectFor } from '@idbroker/idp-stub';
import { startFederation, type Federation } from '../support/federation.js';
import { SECOND_SERVICE } from '../support/policies.js';
import { Citizen } from '../support/citizen.js';

const identities = (parse(readFileSync(new URL('../../idp-stub/data/identities.yaml', import.meta.url), 'utf8')) as { identities?: unknown[] } | unknown[]);
const list = (Array.isArray(identities) ? identities : (identities as { identities: unknown[] }).identities) as Array<Record<string, unknown>>;

/** Every attribute value of every demo identity, as text a store or a log could hold. */
function personalValues(): string[] {
  const out = new Set<string>();
  const walk = (v: unknown) => {
    if (typeof v === 'string' && v.length >= 4 && !/^(GB|UK|P\d)$/.test(v)) out.add(v);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  for (const identity of list) {
    for (const [k, v] of Object.entries(identity)) {
      if (['given_name', 'family_name', 'birthdate', 'address', 'place_of_birth', 'phone', 'phone_number', 'email'].includes(k)) walk(v);
    }
  }
  return [...out];
}


describe('privacy invariants', () => {
  let fed: Federation;
  let redis: Redis;
  beforeAll(async () => {
    fed = await startFederation({ redisUrl: inject('redisUrl'), policyChanges: { extraRps: { 'example-voter-registration': SECOND_SERVICE } } });
    redis = new Redis(inject('redisUrl'));
  });
  afterAll(async () => {
    redis?.disconnect();
    await fed?.close();
  });

  async function journey(idp: string, username: string, clientId = 'example-council-tax', redirectUri = 'http://localhost:3200/callback') {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(clientId, redirectUri), { vtr: ['Cl.Cm.P2'] });
    await citizen.verifyWith(idp, username);
    await citizen.consent('approve');
    return citizen.collect();
  }

  it('the IdP never receives anything that identifies the service (nor a Referer from the broker)', async () => {
    for (const stub of Object.values(fed.idps)) stub.requests.length = 0;
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    // Broker pages tell the browser to send no Referer on to the IdP.
    const picker = await citizen.browser.fetch((citizen.current as { url: string }).url);
    expect(picker.headers.get('referrer-policy')).toBe('no-referrer');
    await citizen.verifyWith('civic-id', 'margaret');
    await citizen.consent('approve');
    await citizen.collect();
    const seen = fed.idps['civic-id']!.requests;
    expect(seen.length).toBeGreaterThan(3); // authorize, sign-in pages, token, JWKS...
    const text = JSON.stringify(seen).toLowerCase();
    for (const clue of ['example-council-tax', 'localhost:3200', 'council', 'example borough', 'urn:idbroker:sector', citizen.tx.state.toLowerCase(), citizen.tx.nonce.toLowerCase()]) {
      expect(text, `the IdP saw "${clue}"`).not.toContain(clue);
    }
  });

  it('the service never receives anything that identifies the IdP', async () => {
    const { idToken, claims, userinfo } = await journey('swift-verify', 'margaret');
    const payload = Buffer.from(idToken.split('.')[1]!, 'base64url').toString();
    const header = Buffer.from(idToken.split('.')[0]!, 'base64url').toString();
    const everything = `${header}${payload}${JSON.stringify(userinfo)}`.toLowerCase();
    const stub = fed.idps['swift-verify']!;
    for (const clue of ['swift-verify', 'swiftverify', stub.issuer.toLowerCase(), `127.0.0.1:${stub.port}`, subjectFor('swift-verify', 'margaret').toLowerCase(), 'evidence', 'passport']) {
      expect(everything, `the service saw "${clue}"`).not.toContain(clue);
    }
    expect(claims.iss).toBe(fed.issuer);
  });

  it('subjects are pairwise: per sector and per IdP, stable for the same ones', async () => {
    const council1 = await journey('civic-id', 'margaret');
    const council2 = await journey('civic-id', 'margaret');
    const voter = await journey('civic-id', 'margaret', 'example-voter-registration', 'http://localhost:3300/callback');
    const councilOtherIdp = await journey('swift-verify', 'margaret');
    expect(council1.claims.sub).toBe(council2.claims.sub);
    expect(voter.claims.sub).not.toBe(council1.claims.sub);
    expect(councilOtherIdp.claims.sub).not.toBe(council1.claims.sub);
    expect(String(council1.claims.sub)).not.toContain(subjectFor('civic-id', 'margaret'));
  });

  it('after journeys finish, no key or value in Redis and no log line holds a demo identity attribute value', async () => {
    await journey('civic-id', 'margaret');
    await journey('swift-verify', 'dylan');
    const values = personalValues();
    expect(values).toEqual(expect.arrayContaining(['Margaret', 'Okafor', '1958-03-14']));

    const scan = async () => {
      const hits: string[] = [];
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(cursor, 'COUNT', 500);
        cursor = next;
        for (const key of batch) {
          keys.push(key);
          const type = await redis.type(key);
          const content =
            type === 'string' ? [(await redis.get(key)) ?? ''] : type === 'set' ? await redis.smembers(key) : type === 'list' ? await redis.lrange(key, 0, -1) : type === 'hash' ? Object.entries(await redis.hgetall(key)).flat() : [];
          for (const text of [key, ...content]) for (const v of values) if (text.includes(v)) hits.push(`${key}: ${v}`);
        }
      } while (cursor !== '0');
      return { hits, keys };
    };

    // The scan can find what is there: a planted value is found.
    await redis.set('privacy-test:planted', `planted ${values[0]}`, 'EX', 30);
    expect((await scan()).hits).toContain(`privacy-test:planted: ${values[0]}`);
    await redis.del('privacy-test:planted');

    const { hits, keys } = await scan();
    expect(hits).toEqual([]);
    // Nothing about a finished journey is left: no journey state, no deliveries, no upstream bindings.
    const prefix = fed.brokers[0]!.config.keyPrefix;
    expect(keys.filter((k) => k.startsWith(prefix) && /^(journey|delivery|upstream-state):/.test(k.slice(prefix.length)))).toEqual([]);

    const logText = fed.logs.join('\n');
    expect(fed.logs.length).toBeGreaterThan(10);
    for (const v of values) expect(logText, `a log line holds "${v}"`).not.toContain(v);
  });
});
