/** /admin/switches: read and change the failure switches (Bearer admin token; 404 without one). */
import type Koa from 'koa';
import { sameSecret } from './http.js';
import type { StubContext } from './stub-context.js';
import { parseSwitches } from './switches.js';

export function isAdminPath(path: string): boolean {
  return path === '/admin/switches';
}

/** Answer an /admin request. `body` is the raw request body. */
export function adminRoute(stub: StubContext, ctx: Koa.Context, body: string): void {
  const token = stub.options.adminToken;
  if (!token) {
    ctx.status = 404;
    return;
  }
  const auth = ctx.get('authorization');
  if (!auth.startsWith('Bearer ') || !sameSecret(auth.slice(7), token)) {
    ctx.status = 401;
    ctx.set('WWW-Authenticate', 'Bearer');
    ctx.body = { error: 'unauthorized' };
    return;
  }
  if (ctx.method === 'POST') {
    try {
      stub.switches = parseSwitches(JSON.parse(body || '{}') as Record<string, unknown>, stub.switches);
    } catch (error) {
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', error_description: (error as Error).message };
      return;
    }
  } else if (ctx.method !== 'GET') {
    ctx.status = 405;
    return;
  }
  ctx.body = { ...stub.switches };
}
