/**
 * GET /support/assets/:file: the scripts of the passkey pages (no inline scripts).
 */
import type Koa from 'koa';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import type { SupportKit } from './support-kit.js';

const require = createRequire(import.meta.url);
const SCRIPTS: Record<string, () => string> = {
  // The package exports only its modules; its browser bundle sits beside them.
  'simplewebauthn-browser.js': () => readFileSync(join(dirname(require.resolve('@simplewebauthn/browser')), '../dist/bundle/index.umd.min.js'), 'utf8'),
  'staff-passkey.js': () => readFileSync(new URL('../public/staff-passkey.js', import.meta.url), 'utf8'),
};

export function passkeyScript(ctx: Koa.Context, _kit: SupportKit): void {
  const load = SCRIPTS[ctx.params.file!];
  if (!load) return;
  ctx.type = 'text/javascript; charset=utf-8';
  ctx.set('Cache-Control', 'public, max-age=3600');
  ctx.body = load();
}
