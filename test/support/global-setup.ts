/**
 * Vitest global setup: one shared redis-server on a free port for the whole run.
 * Tests read its URL with `inject('redisUrl')`. Tests that need to stop or restart Redis
 * start their own with `startRedis()` from ./redis.ts.
 */
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startRedis, type RedisServer } from './redis.js';

let redis: RedisServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  // Screenshots are of this run only (test/browser/chromium.ts writes them).
  rmSync(resolve(import.meta.dirname, '../../test-results/screenshots'), { recursive: true, force: true });
  redis = await startRedis();
  project.provide('redisUrl', redis.url);
}

export async function teardown(): Promise<void> {
  await redis?.destroy();
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
