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
      const input = JSON.parse(body || '{}') as unknown;
      if (!input || typeof input !== 'object' || Array.isArray(input)) throw new Error('the body must be a JSON object of switches');
      const { reset, ...changes } = input as Record<string, unknown>;
      if (reset !== undefined && reset !== true) throw new Error('reset must be true');
      const unknown = Object.keys(changes).filter((k) => !['fail', 'delayMs', 'level', 'scores', 'returnCodes', 'identities'].includes(k));
      if (unknown.length) throw new Error(`unknown switch ${unknown.join(', ')}`);
      stub.switches = parseSwitches(changes, reset ? { fail: 'none', delayMs: 0 } : stub.switches);
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
