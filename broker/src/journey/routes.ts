/**
 * The citizen's journey over HTTP: one table, each row a page or an action in ./pages (one module
 * each, with its view model). The server enforces the journey: a request for a page the journey
 * does not allow now is redirected to the page it does (pages/journey-kit.ts, `load` and `pageOf`).
 * Templates are in ../views/templates, their words in ../views/locales (en.json, cy.json).
 *
 *   GET  /journey/:uid                 picker (starts the journey on first visit)
 *   POST /journey/:uid/provider        choose an IdP -> redirect to it
 *   GET  /idp/:idpId/callback          back from the IdP (one redirect URI per IdP)
 *   GET  /journey/:uid/consent         what will be shared; POST approve | cancel
 *   GET  /journey/:uid/extra           one more detail for matching; POST
 *   GET  /journey/:uid/failure         what went wrong and the ways forward
 *   GET  /journey/:uid/other-ways      the service's other ways to use it
 *   POST /journey/:uid/another         choose another provider
 *   POST /journey/:uid/return          give up and go back to the service (with an OIDC error)
 */
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import { mountRoutes, type Route } from '../http/route-table.js';
import { createJourneyKit, type JourneyKit, type JourneyRoutesOptions } from './pages/journey-kit.js';
import { saveConsentReceipt } from './pages/consent-receipt.page.js';
import { resumeJourney } from './pages/resume.action.js';
import { showPicker } from './pages/picker.page.js';
import { chooseProvider } from './pages/choose-provider.action.js';
import { idpCallback } from './pages/idp-callback.action.js';
import { decideConsent, showConsent } from './pages/consent.page.js';
import { giveExtraAttribute, showExtraAttribute } from './pages/extra-attribute.page.js';
import { showFailure } from './pages/failure.page.js';
import { askForHelp } from './pages/help.action.js';
import { showOtherWays } from './pages/other-ways.page.js';
import { chooseAnotherProvider } from './pages/another-provider.action.js';
import { returnToServiceAction } from './pages/return.action.js';

export type { JourneyRoutesOptions, JourneySupport } from './pages/journey-kit.js';

interface JourneyRoute extends Route<JourneyKit> {
  /** A form post: its body is parsed first (urlencoded, at most 16 kB). */
  form?: true;
}

/** Every journey page and action, in the order the router matches them. */
export const JOURNEY_ROUTES: readonly JourneyRoute[] = [
  { method: 'post', path: '/consent-receipt', form: true, handler: saveConsentReceipt },
  { method: 'get', path: '/journey/resume', handler: resumeJourney },
  { method: 'get', path: '/journey/:uid', handler: showPicker },
  { method: 'post', path: '/journey/:uid/provider', form: true, handler: chooseProvider },
  { method: 'get', path: '/idp/:idpId/callback', handler: idpCallback },
  { method: 'get', path: '/journey/:uid/consent', handler: showConsent },
  { method: 'post', path: '/journey/:uid/consent', form: true, handler: decideConsent },
  { method: 'get', path: '/journey/:uid/extra', handler: showExtraAttribute },
  { method: 'post', path: '/journey/:uid/extra', form: true, handler: giveExtraAttribute },
  { method: 'get', path: '/journey/:uid/failure', handler: showFailure },
  { method: 'post', path: '/journey/:uid/help', form: true, handler: askForHelp },
  { method: 'get', path: '/journey/:uid/other-ways', handler: showOtherWays },
  { method: 'post', path: '/journey/:uid/another', form: true, handler: chooseAnotherProvider },
  { method: 'post', path: '/journey/:uid/return', form: true, handler: returnToServiceAction },
];

export function journeyRoutes(options: JourneyRoutesOptions): Router {
  const forms = bodyParser({ enableTypes: ['form'], formLimit: '16kb' });
  return mountRoutes(new Router(), JOURNEY_ROUTES, createJourneyKit(options), (route) => (route.form ? [forms] : []));
}
