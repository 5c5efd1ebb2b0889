import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../store/index.js';
import { deriveKey } from '../crypto/seal.js';
import { createRateLimiter } from './rate-limit.js';

const secret = 'rate-limit-test-secret-rate-limit-test-secret';

describe('rate limiter keys', () => {
  it('hold a keyed hash of the subject, never the subject; the hash depends on the key and the bucket', () => {
    const a = createRateLimiter(createMemoryStore(), deriveKey(secret, 'rate-limit-keys'));
    const b = createRateLimiter(createMemoryStore(), deriveKey(`${secret}-other`, 'rate-limit-keys'));
    const key = a.keyOf('case-ref', 'MARGARETOKAFOR');
    expect(key).toMatch(/^rl:case-ref:\{[A-Za-z0-9_-]{43}\}$/);
    expect(key).not.toContain('MARGARET');
    expect(a.keyOf('case-ref', 'MARGARETOKAFOR')).toBe(key);
    expect(b.keyOf('case-ref', 'MARGARETOKAFOR')).not.toBe(key);
    expect(a.keyOf('case-ip', 'MARGARETOKAFOR')).not.toBe(key.replace('case-ref', 'case-ip'));
    expect(() => a.keyOf('Bad Bucket', 'x')).toThrow(/bucket/);
  });

  it('count hits per subject', async () => {
    const limits = createRateLimiter(createMemoryStore(), deriveKey(secret, 'rate-limit-keys'));
    expect(await limits.hit('case-ip', '10.0.0.1', 60)).toBe(1);
    expect(await limits.hit('case-ip', '10.0.0.1', 60)).toBe(2);
    expect(await limits.hit('case-ip', '10.0.0.2', 60)).toBe(1);
  });
});
