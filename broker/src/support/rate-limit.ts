/**
 * Rate limits whose keys hold nothing a person typed or sent. The store key of a counter is
 * `rl:<bucket>:{<HMAC-SHA-256(key, bucket, subject)>}`: a keyed hash (the key is derived from
 * the broker secret), so someone reading the store sees neither what was typed (a reference,
 * a name or a phone number pasted by mistake) nor the client's IP address, and cannot test a
 * guess against the keys without the secret.
 */
import { createHmac } from 'node:crypto';
import type { Store } from '../store/index.js';

export interface RateLimiter {
  /** Count one hit of `subject` in `bucket` (window starts at the first hit); returns the count so far. */
  hit(bucket: string, subject: string, windowSeconds: number): Promise<number>;
  /** The store key for a bucket and subject (for tests and diagnostics). */
  keyOf(bucket: string, subject: string): string;
}

export function createRateLimiter(store: Store, key: Uint8Array): RateLimiter {
  if (!(key instanceof Uint8Array) || key.byteLength < 32) throw new Error('rate limiter: the key must be at least 32 bytes (use deriveKey)');
  const keyOf = (bucket: string, subject: string) => {
    if (!/^[a-z][a-z0-9-]*$/.test(bucket)) throw new Error(`rate limiter: bad bucket name ${bucket}`);
    const digest = createHmac('sha256', key).update(bucket).update('\0').update(subject, 'utf8').digest('base64url');
    return `rl:${bucket}:{${digest}}`;
  };
  return {
    keyOf,
    hit: (bucket, subject, windowSeconds) => store.increment(keyOf(bucket, subject), windowSeconds),
  };
}
