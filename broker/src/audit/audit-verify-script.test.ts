import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { createRedisStore } from '../store/redis.js';
import { AUDIT_KEYS, createAuditTrail } from './index.js';

const script = fileURLToPath(new URL('../../scripts/audit-verify.ts', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));
/** Each test runs the script as a process (tsx compiles it first): slow on a loaded machine. */
const SCRIPT_TIMEOUT = 180_000;

function run(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--conditions=@idbroker/source', '--import', 'tsx', script], { cwd: root, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('broker/scripts/audit-verify.ts', () => {
  it('reports OK with the count, then the first broken link with exit code 1', async () => {
    const url = inject('redisUrl');
    const prefix = `t:${randomBytes(6).toString('hex')}:script:`;
    const store = createRedisStore({ redisUrl: url, keyPrefix: prefix });
    const raw = new Redis(url);
    try {
      const trail = createAuditTrail({ store });
      for (let i = 0; i < 3; i++) await trail.append({ type: 'journey.started', journey: `J${i}` });
      const ok = await run({ REDIS_URL: url, REDIS_KEY_PREFIX: prefix });
      expect(ok.stdout.trim()).toBe('audit: OK, 3 events');
      expect(ok.code).toBe(0);

      expect(ok.stderr).toMatch(/no checkpoint file given \(AUDIT_CHECKPOINT_FILE\): only the hash chains were checked/);

      const e = JSON.parse((await raw.get(`${prefix}${AUDIT_KEYS.event(trail.chain, 2)}`))!);
      e.journey = 'J-other';
      await raw.set(`${prefix}${AUDIT_KEYS.event(trail.chain, 2)}`, JSON.stringify(e));
      const broken = await run({ REDIS_URL: url, REDIS_KEY_PREFIX: prefix });
      expect(broken.stdout).toMatch(new RegExp(`^audit: BROKEN \\(edited\\) at event 2 of chain ${trail.chain}: event 2 was edited`));
      expect(broken.code).toBe(1);
    } finally {
      raw.disconnect();
      await store.close();
    }
  }, SCRIPT_TIMEOUT);

  it('refuses to trust the development checkpoint key in production, and names a checkpoint file it cannot read', async () => {
    const dev = await run({ REDIS_URL: inject('redisUrl'), NODE_ENV: 'production' });
    expect(dev.code).toBe(2);
    expect(dev.stderr).toMatch(/the development audit checkpoint key cannot be trusted in production/);
    const missing = await run({ REDIS_URL: inject('redisUrl'), AUDIT_CHECKPOINT_FILE: '/nonexistent/checkpoints.jsonl' });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/AUDIT_CHECKPOINT_FILE: cannot read \/nonexistent\/checkpoints.jsonl/);
  }, SCRIPT_TIMEOUT);

  it('explains a missing REDIS_URL', async () => {
    const result = await run({ REDIS_URL: '' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/set REDIS_URL/);
  }, SCRIPT_TIMEOUT);
});
