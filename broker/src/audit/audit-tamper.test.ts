/**
 * Issue 12, Deliver 2: someone who can write to Redis rewrites the audit trail. Each attack
 * must be caught by `npm run audit:verify`, which names the problem.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { createRedisStore } from '../store/redis.js';
import type { Store } from '../store/types.js';
import { createAuditTrail, hashEvent, type AuditEvent } from './index.js';

const script = fileURLToPath(new URL('../../scripts/audit-verify.ts', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));

function verifyScript(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--conditions=@idbroker/source', '--import', 'tsx', script], { cwd: root, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('audit trail tampering by someone with write access to Redis (reproduction)', () => {
  const url = inject('redisUrl');
  let prefix: string;
  let store: Store;
  let raw: Redis;
  beforeEach(() => {
    prefix = `t:${randomBytes(6).toString('hex')}:tamper:`;
    store = createRedisStore({ redisUrl: url, keyPrefix: prefix });
    raw = new Redis(url);
  });
  afterEach(async () => {
    raw.disconnect();
    await store.close();
  });

  it('an edited event with every later event re-hashed and the head moved is reported', async () => {
    const trail = createAuditTrail({ store });
    for (let i = 0; i < 6; i++) await trail.append({ type: 'journey.stateChanged', journey: 'J1', data: { step: i } });
    let prev: string | undefined;
    for (let seq = 1; seq <= 6; seq++) {
      const e = JSON.parse((await raw.get(`${prefix}audit:event:${seq}`))!) as AuditEvent;
      if (seq === 3) e.data = { step: 99 };
      if (prev) e.prevHash = prev;
      e.hash = hashEvent(e);
      prev = e.hash;
      await raw.set(`${prefix}audit:event:${seq}`, JSON.stringify(e));
    }
    await raw.set(`${prefix}audit:head`, JSON.stringify({ seq: 6, hash: prev }));
    const result = await verifyScript({ REDIS_URL: url, REDIS_KEY_PREFIX: prefix });
    expect(result.stdout).toMatch(/BROKEN/);
    expect(result.code).toBe(1);
  });

  it('a cut tail with the head moved back is reported', async () => {
    const trail = createAuditTrail({ store });
    const events: AuditEvent[] = [];
    for (let i = 0; i < 6; i++) events.push(await trail.append({ type: 'journey.stateChanged', journey: 'J1', data: { step: i } }));
    await raw.del(`${prefix}audit:event:5`, `${prefix}audit:event:6`);
    await raw.set(`${prefix}audit:head`, JSON.stringify({ seq: 4, hash: events[3]!.hash }));
    const result = await verifyScript({ REDIS_URL: url, REDIS_KEY_PREFIX: prefix });
    expect(result.stdout).toMatch(/BROKEN/);
    expect(result.code).toBe(1);
  });
});
