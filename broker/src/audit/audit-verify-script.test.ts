import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { createRedisStore } from '../store/redis.js';
import { createAuditTrail } from './index.js';

const script = fileURLToPath(new URL('../../scripts/audit-verify.ts', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));

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

      const e = JSON.parse((await raw.get(`${prefix}audit:event:2`))!);
      e.journey = 'J-other';
      await raw.set(`${prefix}audit:event:2`, JSON.stringify(e));
      const broken = await run({ REDIS_URL: url, REDIS_KEY_PREFIX: prefix });
      expect(broken.stdout).toMatch(/^audit: BROKEN at event 2: event 2 was edited/);
      expect(broken.code).toBe(1);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('explains a missing REDIS_URL', async () => {
    const result = await run({ REDIS_URL: '' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/set REDIS_URL/);
  });
});
