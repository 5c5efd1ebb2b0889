/**
 * Vitest global setup: one shared redis-server on a free port for the whole run.
 * Tests read its URL with `inject('redisUrl')`. Tests that need to stop or restart Redis
 * start their own with `startRedis()` from ./redis.ts.
 */
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startRedis, type RedisServer } from './redis.js';

let redis: RedisServer | undefined;
const SCREENSHOTS = resolve(import.meta.dirname, '../../test-results/screenshots');

export async function setup(project: TestProject): Promise<void> {
  // Screenshots are of this run only (test/browser/chromium.ts writes them).
  rmSync(SCREENSHOTS, { recursive: true, force: true });
  redis = await startRedis();
  project.provide('redisUrl', redis.url);
}

export async function teardown(): Promise<void> {
  await redis?.destroy();
  writeScreenshotIndex();
}

/**
 * test-results/screenshots/index.html: every page state the run saved, grouped by the file that
 * saved it (in the order it was reached), so a person can review them in one place.
 */
function writeScreenshotIndex(): void {
  if (!existsSync(SCREENSHOTS)) return;
  const shots = readdirSync(SCREENSHOTS, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.png')).sort();
  if (shots.length === 0) return;
  const groups = new Map<string, string[]>();
  for (const f of shots) {
    const group = f.includes('/') ? f.split('/')[0]! : f.replace(/-\d{3}-.*$/, '');
    groups.set(group, [...(groups.get(group) ?? []), f]);
  }
  const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
  const sections = [...groups].map(([group, files]) => `<h2 id="${esc(group)}">${esc(group)} (${files.length})</h2>\n${files.map((f) => `<figure><a href="${esc(f)}"><img src="${esc(f)}" alt="" loading="lazy" width="256"></a><figcaption>${esc(f)}</figcaption></figure>`).join('\n')}`);
  writeFileSync(
    join(SCREENSHOTS, 'index.html'),
    `<!doctype html>\n<html lang="en"><meta charset="utf-8"><title>Page states of the last test run</title>\n<style>body{font-family:sans-serif}figure{display:inline-block;vertical-align:top;margin:8px;width:256px}img{border:1px solid #b1b4b6;max-height:400px;object-fit:cover;object-position:top}figcaption{font-size:12px;word-break:break-all}</style>\n<h1>Page states of the last test run (${shots.length})</h1>\n${sections.join('\n')}\n</html>\n`,
  );
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
