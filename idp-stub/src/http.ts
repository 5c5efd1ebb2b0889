/** Small HTTP helpers shared by the stub's routes. */
import { timingSafeEqual } from 'node:crypto';
import { parse as parseQuery } from 'node:querystring';
import type Koa from 'koa';

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function html(ctx: Koa.Context, body: string, status = 200): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = body;
}

/** The url-encoded form body read by the recording middleware (first value of each field). */
export function form(ctx: Koa.Context): Record<string, string> {
  const raw = (ctx.req as { body?: string }).body ?? '';
  const parsed = parseQuery(raw);
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, Array.isArray(v) ? (v[0] ?? '') : (v ?? '')]));
}
