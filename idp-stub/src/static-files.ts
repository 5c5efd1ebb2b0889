/** The stub's static files (style, passkey script, the SimpleWebAuthn browser bundle). */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Koa from 'koa';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const staticFiles: Record<string, { type: string; file: string }> = {
  '/static/style.css': { type: 'text/css; charset=utf-8', file: join(here, '..', 'public', 'style.css') },
  '/static/passkey.js': { type: 'text/javascript; charset=utf-8', file: join(here, '..', 'public', 'passkey.js') },
  '/static/simplewebauthn-browser.js': {
    type: 'text/javascript; charset=utf-8',
    file: join(dirname(require.resolve('@simplewebauthn/browser')), '..', 'dist', 'bundle', 'index.umd.min.js'),
  },
};

/** Serve a static file for GET; true when it did. */
export function serveStatic(ctx: Koa.Context): boolean {
  const file = staticFiles[ctx.path];
  if (!file || ctx.method !== 'GET') return false;
  ctx.type = file.type;
  ctx.set('Cache-Control', 'public, max-age=300');
  ctx.body = readFileSync(file.file);
  return true;
}
