/**
 * Support over HTTP: one table, each row a page or an action in ./pages (one module each, with
 * its view model). Templates are in ../views/templates/support (and record.njk), their words in
 * ../views/locales (en.json, cy.json).
 *
 *   GET  /support/assets/:file                 the passkey pages' scripts
 *   POST /support/service-cases                a service opens a case for a journey (./service-cases.ts)
 *   GET  /support/case                         a citizen looks a case up; POST
 *   GET  /record                               everything held about a reference; POST
 *   GET  /support/staff/sign-in                staff sign in with a passkey; POST
 *   GET  /support/staff/enrol/:token           register a passkey from an invitation; POST
 *   POST /support/staff/sign-out
 *   GET  /support/staff                        the queue: lists, counts, filters, search
 *   GET  /support/staff/cases/:ref             one case
 *   POST /support/staff/cases/:ref/:action     note | escalate | assign | resolve | reopen
 *   GET  /support/staff/audit                  verify the audit trail
 */
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import { mountRoutes, type Route } from '../http/route-table.js';
import type { SupportKit } from './pages/support-kit.js';
import { passkeyScript } from './pages/assets.action.js';
import { lookUpCase, showCaseLookup } from './pages/case-lookup.page.js';
import { showRecord, showRecordLookup } from './pages/record.page.js';
import { showSignIn, signIn } from './pages/staff-sign-in.page.js';
import { enrol, showEnrol } from './pages/staff-enrol.page.js';
import { signOut } from './pages/staff-sign-out.action.js';
import { showQueue } from './pages/staff-queue.page.js';
import { showCase } from './pages/staff-case.page.js';
import { actOnCase } from './pages/staff-case-action.action.js';
import { verifyAuditPage } from './pages/staff-audit.page.js';

interface SupportRoute extends Route<SupportKit> {
  /** A staff page: behind the staff guard (kit.staffPages), which wraps everything after it. */
  staff?: true;
  /** A form post: its body is parsed (urlencoded, at most 32 kB), after the staff guard. */
  form?: true;
}

/** Every support page and action, in the order the router matches them. */
export const SUPPORT_ROUTES: readonly SupportRoute[] = [
  { method: 'get', path: '/support/assets/:file', handler: passkeyScript },
  { method: 'post', path: '/support/service-cases', handler: (ctx, kit) => kit.serviceCases(ctx, async () => undefined) },
  { method: 'get', path: '/support/case', handler: showCaseLookup },
  { method: 'post', path: '/support/case', form: true, handler: lookUpCase },
  { method: 'get', path: '/record', handler: showRecordLookup },
  { method: 'post', path: '/record', form: true, handler: showRecord },
  { method: 'get', path: '/support/staff/sign-in', staff: true, handler: showSignIn },
  { method: 'post', path: '/support/staff/sign-in', staff: true, form: true, handler: signIn },
  { method: 'get', path: '/support/staff/enrol/:token', staff: true, handler: showEnrol },
  { method: 'post', path: '/support/staff/enrol/:token', staff: true, form: true, handler: enrol },
  { method: 'post', path: '/support/staff/sign-out', staff: true, form: true, handler: signOut },
  { method: 'get', path: '/support/staff', staff: true, handler: showQueue },
  { method: 'get', path: '/support/staff/cases/:ref', staff: true, handler: showCase },
  { method: 'post', path: '/support/staff/cases/:ref/:action', staff: true, form: true, handler: actOnCase },
  { method: 'get', path: '/support/staff/audit', staff: true, handler: verifyAuditPage },
];

export function supportRouter(kit: SupportKit): Router {
  const forms = bodyParser({ enableTypes: ['form'], formLimit: '32kb' });
  return mountRoutes(new Router(), SUPPORT_ROUTES, kit, (route) => [...(route.staff ? [kit.staffPages] : []), ...(route.form ? [forms] : [])]);
}
