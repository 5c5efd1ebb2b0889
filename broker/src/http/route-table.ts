/**
 * One table of wiring per area (journey, support): each row names a method, a path and the
 * module that handles it, and the area's own stack for that row (body parsing, guards). The
 * rows are registered in table order, which is the order a router matches them in.
 */
import type Router from '@koa/router';
import type Koa from 'koa';

/** A page's or an action's handler: the request, and what the area gives every handler. */
export type Handler<Kit> = (ctx: Koa.Context, kit: Kit) => unknown;

export interface Route<Kit> {
  method: 'get' | 'post';
  path: string;
  handler: Handler<Kit>;
}

/** Register each row on the router, behind the middleware `stack` chooses for it. */
export function mountRoutes<Kit, R extends Route<Kit>>(router: Router, routes: readonly R[], kit: Kit, stack: (route: R) => Koa.Middleware[] = () => []): Router {
  for (const route of routes) {
    const handle: Koa.Middleware = async (ctx) => {
      await route.handler(ctx, kit);
    };
    router[route.method](route.path, ...stack(route), handle);
  }
  return router;
}
