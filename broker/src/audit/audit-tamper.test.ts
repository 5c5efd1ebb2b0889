/**
 * Issue 12, Deliver 2: someone who can write to Redis rewrites the audit trail. Each attack is
 * caught by `npm run audit:verify` (run as the operator runs it, against the checkpoint file
 * the broker exported), which names the problem; and by `verifyAudit` itself.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { createRedisStore } from '../store/redis.js';
import type { Store } from '../store/types.js';
import {
  AUDIT_KEYS,
  checkpointLines,
  createAuditTrail,
  hashEvent,
  proveConsistency,
  proveInclusion,
  publicJwk,
  readCheckpoints,
  signCheckpoint,
  verifyAudit,
  verifyCheckpointConsistency,
  verifyEventInclusion,
  type AuditEvent,
  type AuditTrail,
  type CheckpointPayload,
} from './index.js';

const script = fileURLToPath(new URL('../../scripts/audit-verify.ts', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));
/** Each test runs the script as a process (tsx compiles it first): slow on a loaded machine. */
const SCRIPT_TIMEOUT = 180_000;

function verifyScript(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--conditions=@idbroker/source', '--import', 'tsx', script], { cwd: root, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function newKey(kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
}

describe('audit trail tampering by someone with write access to Redis', () => {
  const url = inject('redisUrl');
  let dir: string;
  let key: JWK;
  let keysFile: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'audit-tamper-'));
    key = await newKey('audit-test-1');
    keysFile = join(dir, 'trusted.jwks.json');
    // The witness holds only the public key.
    writeFileSync(keysFile, JSON.stringify({ keys: [publicJwk(key)] }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  let prefix: string;
  let store: Store;
  let raw: Redis;
  let file: string;
  let trail: AuditTrail;
  const chain = 'broker-a';
  const k = (name: string) => `${prefix}${name}`;
  const eventKey = (seq: number) => k(AUDIT_KEYS.event(chain, seq));
  const readEvent = async (seq: number) => JSON.parse((await raw.get(eventKey(seq)))!) as AuditEvent;
  const env = () => ({ REDIS_URL: url, REDIS_KEY_PREFIX: prefix, AUDIT_CHECKPOINT_FILE: file, AUDIT_CHECKPOINT_PUBLIC_KEYS_FILE: keysFile });
  const check = async () => verifyAudit({ store, checkpoints: checkpointLines(file, readFileSync(file, 'utf8')), trustedKeys: [publicJwk(key)] });

  /** Six events; checkpoints after the third and the sixth. */
  beforeEach(async () => {
    prefix = `t:${randomBytes(6).toString('hex')}:tamper:`;
    store = createRedisStore({ redisUrl: url, keyPrefix: prefix });
    raw = new Redis(url);
    file = join(dir, `${randomBytes(4).toString('hex')}.jsonl`);
    trail = createAuditTrail({ store, chain, checkpoints: { signingKey: key, file, intervalMs: 0 } });
    for (let i = 0; i < 6; i++) {
      await trail.append({ type: 'journey.stateChanged', journey: 'J1', data: { step: i } });
      if (i === 2 || i === 5) await trail.checkpoint();
    }
  });
  afterEach(async () => {
    raw.disconnect();
    await store.close();
  });

  /** Rewrite events from..6 with `change`, re-hash them all and move the head, as an attacker can. */
  async function rewriteFrom(from: number, change: (events: AuditEvent[]) => AuditEvent[]) {
    const events: AuditEvent[] = [];
    for (let seq = 1; seq <= 6; seq++) events.push(await readEvent(seq));
    const kept = events.slice(0, from - 1);
    const changed = change(events.slice(from - 1));
    let prev = kept.at(-1)?.hash ?? '0'.repeat(64);
    await raw.del(...events.slice(from - 1).map((e) => eventKey(e.seq)));
    for (const [i, e] of changed.entries()) {
      const body = { ...e, seq: from + i, prevHash: prev };
      const hash = hashEvent(body);
      await raw.set(eventKey(from + i), JSON.stringify({ ...body, hash }));
      prev = hash;
    }
    await raw.set(k(AUDIT_KEYS.head(chain)), JSON.stringify({ seq: from - 1 + changed.length, hash: prev }));
  }

  it('an untouched trail passes, against both checkpoints', async () => {
    const ok = await verifyScript(env());
    expect(ok.stdout.trim()).toBe('audit: OK, 6 events in 1 chain, against 2 signed checkpoints (0 newer events not yet covered by one)');
    expect(ok.code).toBe(0);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(2);
  }, SCRIPT_TIMEOUT);

  it('edit + re-hash: an event changed and every later one re-hashed, the head moved', async () => {
    await rewriteFrom(5, ([five, ...rest]) => [{ ...five!, data: { step: 99 } }, ...rest]);
    // The hash chain alone now looks whole: this is what the checkpoints are for.
    expect(await verifyAudit({ store })).toMatchObject({ ok: true, count: 6 });
    const result = await verifyScript(env());
    expect(result.stdout).toMatch(/^audit: BROKEN \(rewritten\) at event 4 of chain broker-a: events 4 to 6 are not the ones checkpoint 2 of chain broker-a \(.*\.jsonl:2\) vouches for/);
    expect(result.code).toBe(1);
  }, SCRIPT_TIMEOUT);

  it('tail truncation: the last events removed and the head moved back', async () => {
    const four = await readEvent(4);
    await raw.del(eventKey(5), eventKey(6));
    await raw.set(k(AUDIT_KEYS.head(chain)), JSON.stringify({ seq: 4, hash: four.hash }));
    expect(await verifyAudit({ store })).toMatchObject({ ok: true, count: 4 });
    const result = await verifyScript(env());
    expect(result.stdout).toMatch(/^audit: BROKEN \(cut\) at event 5 of chain broker-a: chain broker-a ends at event 4, but checkpoint 2 of chain broker-a .* says it held 6: events 5 to 6 were removed/);
    expect(result.code).toBe(1);
  }, SCRIPT_TIMEOUT);

  it('deletion: an event removed from the middle, and the same with the rest renumbered and re-hashed', async () => {
    await raw.del(eventKey(2));
    const plain = await verifyScript(env());
    expect(plain.stdout).toMatch(/^audit: BROKEN \(missing\) at event 2 of chain broker-a: event 2 is missing \(deleted\)/);
    expect(plain.code).toBe(1);

    await raw.set(eventKey(2), JSON.stringify({ chain, seq: 2, at: 'x', type: 'x.y', prevHash: '', hash: '' }));
    await rewriteFrom(2, ([, ...rest]) => rest);
    expect(await verifyAudit({ store })).toMatchObject({ ok: true, count: 5 });
    expect(await check()).toMatchObject({ ok: false, problem: 'rewritten', chain, brokenAt: 1 });
  }, SCRIPT_TIMEOUT);

  it('reordering: two events swapped, and the same with the chain re-hashed around them', async () => {
    const [a, b] = await raw.mget(eventKey(3), eventKey(4));
    await raw.set(eventKey(3), b!);
    await raw.set(eventKey(4), a!);
    const swapped = await verifyScript(env());
    expect(swapped.stdout).toMatch(/^audit: BROKEN \(reordered\) at event 3 of chain broker-a: the event stored as 3 says it is broker-a 4/);
    expect(swapped.code).toBe(1);

    await raw.set(eventKey(3), a!);
    await raw.set(eventKey(4), b!);
    await rewriteFrom(3, ([three, four, ...rest]) => [four!, three!, ...rest]);
    expect(await verifyAudit({ store })).toMatchObject({ ok: true, count: 6 });
    // Events 1-3 were signed in checkpoint 1; the swap moved event 3, so that one no longer matches.
    expect(await check()).toMatchObject({ ok: false, problem: 'rewritten', chain, brokenAt: 1, reason: expect.stringMatching(/^events 1 to 3 are not the ones checkpoint 1/) });
  }, SCRIPT_TIMEOUT);

  /** The second checkpoint line's parts, and its claims. */
  function secondCheckpoint() {
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const [header, payload, signature] = lines[1]!.split('.');
    return { lines, header, signature, claims: JSON.parse(Buffer.from(payload!, 'base64url').toString()) as CheckpointPayload };
  }

  it('a forged checkpoint: an altered one (bad signature), or one forged under the trusted kid', async () => {
    const { lines, header, signature, claims } = secondCheckpoint();
    // The attacker lowers the signed size to match a cut tail.
    const altered = `${header}.${Buffer.from(JSON.stringify({ ...claims, size: 4 })).toString('base64url')}.${signature}`;
    writeFileSync(file, `${lines[0]}\n${altered}\n`);
    const bad = await verifyScript(env());
    expect(bad.stdout).toMatch(/^audit: BROKEN \(bad-signature\): checkpoint .*\.jsonl:2: its signature does not verify with key audit-test-1/);
    expect(bad.code).toBe(1);

    const other = await newKey('attacker-1');
    writeFileSync(file, `${lines[0]}\n${await signCheckpoint({ ...claims, size: 4 }, { ...other, kid: 'audit-test-1' })}\n`);
    expect(await check()).toMatchObject({ ok: false, problem: 'bad-signature', reason: expect.stringContaining('.jsonl:2: its signature does not verify') });
  }, SCRIPT_TIMEOUT);

  it('a forged checkpoint signed with another key', async () => {
    const { lines, claims } = secondCheckpoint();
    const other = await newKey('attacker-1');
    writeFileSync(file, `${lines[0]}\n${await signCheckpoint({ ...claims, size: 4 }, other)}\n`);
    const untrusted = await verifyScript(env());
    expect(untrusted.stdout).toMatch(/^audit: BROKEN \(untrusted-key\): checkpoint .*\.jsonl:2 is signed with key "attacker-1", which is not a trusted audit checkpoint key/);
    expect(untrusted.code).toBe(1);
  }, SCRIPT_TIMEOUT);

  it('a checkpoint left out of the copy, or the whole chain removed from the store, is named', async () => {
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    await trail.append({ type: 'journey.stateChanged', journey: 'J1', data: { step: 7 } });
    await trail.checkpoint();
    const three = readFileSync(file, 'utf8').trim().split('\n');
    writeFileSync(file, `${three[0]}\n${three[2]}\n`);
    expect(await check()).toMatchObject({ ok: false, problem: 'checkpoint-gap', reason: expect.stringMatching(/checkpoints 2 to 2 of chain broker-a are missing/) });

    writeFileSync(file, `${lines.join('\n')}\n`);
    const all = await raw.keys(`${prefix}audit:*`);
    await raw.del(...all);
    expect(await verifyAudit({ store })).toMatchObject({ ok: true, count: 0 });
    expect(await check()).toMatchObject({ ok: false, problem: 'missing-chain', chain, reason: expect.stringMatching(/^chain broker-a is gone from the store, but checkpoint 2 of chain broker-a .* says it held 6 events/) });
  });

  it('chains join: another instance that died before its own checkpoint is held to what this one witnessed', async () => {
    const second = createRedisStore({ redisUrl: url, keyPrefix: prefix });
    try {
      const b = createAuditTrail({ store: second, chain: 'broker-b' });
      const events: AuditEvent[] = [];
      for (let i = 0; i < 4; i++) events.push(await b.append({ type: 'journey.started', journey: `B${i}` }));
      // broker-b never signs (it "crashes"); broker-a's next checkpoint witnesses its head.
      await trail.checkpoint();
      const line = readFileSync(file, 'utf8').trim().split('\n')[2]!;
      const { checkpoints } = await readCheckpoints([{ text: line, source: 'x' }], [publicJwk(key)]);
      expect(checkpoints[0]!.witnessed).toEqual([{ chain: 'broker-b', size: 4, head: events[3]!.hash }]);
      expect(await check()).toMatchObject({ ok: true, count: 10, chains: 2, checkpoints: 3, uncovered: 4 });

      await raw.del(k(AUDIT_KEYS.event('broker-b', 4)));
      await raw.set(k(AUDIT_KEYS.head('broker-b')), JSON.stringify({ seq: 3, hash: events[2]!.hash }));
      expect(await verifyAudit({ store })).toMatchObject({ ok: true, count: 9 });
      expect(await check()).toMatchObject({ ok: false, problem: 'cut', chain: 'broker-b', brokenAt: 4, reason: expect.stringMatching(/^chain broker-b ends at event 3, but checkpoint 3 of chain broker-a .*which saw it, says it held 4/) });
    } finally {
      await second.close();
    }
  });
});

describe('Merkle proofs over the audit trail (RFC 9162)', () => {
  const url = inject('redisUrl');
  it('one event is proved included in a signed checkpoint with hashes only; two checkpoints are proved consistent', async () => {
    const store = createRedisStore({ redisUrl: url, keyPrefix: `t:${randomBytes(6).toString('hex')}:proof:` });
    try {
      const key = await newKey('audit-test-2');
      const trail = createAuditTrail({ store, chain: 'c1', checkpoints: { signingKey: key, intervalMs: 0 } });
      const events: AuditEvent[] = [];
      for (let i = 0; i < 7; i++) events.push(await trail.append({ type: 'journey.started', journey: `J${i}` }));
      const first = await trail.checkpoint();
      for (let i = 7; i < 13; i++) events.push(await trail.append({ type: 'journey.started', journey: `J${i}` }));
      const second = await trail.checkpoint();
      const { checkpoints, problems } = await readCheckpoints([first!, second!].map((text, i) => ({ text, source: `#${i}` })), [publicJwk(key)]);
      expect(problems).toEqual([]);
      const cp7 = checkpoints[0]!;
      const cp13 = checkpoints[1]!;
      expect([cp7.size, cp13.size]).toEqual([7, 13]);

      for (const event of events) {
        const proof = await proveInclusion(store, event, cp13.size);
        expect(proof.path.length).toBeLessThanOrEqual(4);
        // The proof carries hashes only: no other event's content is in it.
        for (const other of events) if (other !== event) expect(JSON.stringify(proof)).not.toContain(other.journey);
        expect(verifyEventInclusion(event, proof, cp13)).toBe(true);
        expect(verifyEventInclusion({ ...event, journey: 'J-other', hash: hashEvent({ ...event, journey: 'J-other' }) }, proof, cp13)).toBe(false);
        expect(verifyEventInclusion(event, proof, { ...cp13, root: cp7.root })).toBe(false);
      }
      expect(verifyEventInclusion(events[3]!, await proveInclusion(store, events[3]!, 7), cp7)).toBe(true);

      const consistency = await proveConsistency(store, 'c1', 7, 13);
      expect(verifyCheckpointConsistency(cp7, cp13, consistency)).toBe(true);
      expect(verifyCheckpointConsistency({ ...cp7, root: cp13.root }, cp13, consistency)).toBe(false);
      expect(await trail.treeHead()).toEqual({ chain: 'c1', size: 13, root: cp13.root, head: events[12]!.hash });
    } finally {
      await store.close();
    }
  });
});
