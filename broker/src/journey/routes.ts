/**
 * The citizen's journey over HTTP. The server enforces the journey: a request for a page
 * the journey does not allow now is redirected to the page it does.
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
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type Koa from 'koa';
import { errors, type default as Provider } from 'oidc-provider';
import { levelName, providerText, serviceText, type AttributeName, type Policies, type RelyingPartyPolicy } from '@idbroker/policies';
import type { IdentityProviders } from '../upstream/index.js';
import { UpstreamError } from '../upstream/index.js';
import type { Views } from '../views/index.js';
import { resolveLocale } from '../views/index.js';
import { requestedAttributes, requestedVectors } from '../oidc/requested.js';
import { pairwiseSubject } from '../oidc/pairwise.js';
import { returnedIdentity } from './returned.js';
import type { WalletJourney } from '../wallet/routes.js';
import type { DeliveredClaims } from '../oidc/provider.js';
import type { Journeys } from './journeys.js';
import type { FailureReason, JourneyState, Matching, ReturnedIdentity } from './journey-state.js';
import { RETRYABLE_WITH_ANOTHER_PROVIDER, InvalidJourneyState } from './transitions.js';
import type { JourneyEvent } from './events.js';
import { formatAttribute } from './present.js';
import type { Matcher } from '../matching/index.js';
import type { OidcRecords } from '../store/oidc-adapter.js';
import { PublicError } from '../errors.js';
import type { ConsentReceipts } from './consent-receipt.js';

export interface JourneyRoutesOptions {
  issuer: string;
  provider: Provider;
  policies: Policies;
  upstream: IdentityProviders;
  journeys: Journeys;
  views: Views;
  matcher: Matcher;
  /** Keys for subjects (derived from the broker secret). */
  subjectKeys: { internal: Uint8Array; pairwise: Uint8Array };
  /** OIDC records a request has read (the interaction, read with the journey). */
  oidcRecords?: OidcRecords;
  /** Store what the citizen consented to, for the token endpoint to release once. */
  deliveryWrite(grantId: string, claims: DeliveredClaims): { key: string; value: string; ttlSeconds: number };
  secureCookies: boolean;
  /** The issuer URL the broker uses for an IdP (the policy's, or an override). */
  idpIssuer(idpId: string): string;
  /** Support cases (the "get help" way forward). Without it, failure pages offer no help form. */
  support?: JourneySupport;
  /** Signed consent receipts the citizen can keep. Without it, the consent page offers none. */
  receipts?: ConsentReceipts;
  /** Certified wallets (OpenID4VP): offered in the picker beside the IdPs. */
  wallets?: WalletJourney;
}

/** What the journey needs from support: open a case for a failed journey. */
export interface JourneySupport {
  openCase(input: {
    journeyRef: string;
    clientId: string;
    idpId?: string;
    requested: string[];
    stage: string;
    reason: FailureReason;
    description?: string;
    contact?: string;
    locale: 'en' | 'cy';
  }): Promise<{ reference: string }>;
}

const REMEMBER_COOKIE = 'idb_provider';
/** CSRF token (double submit) of the consent receipt download form. */
const RECEIPT_CSRF_COOKIE = 'idb_receipt_csrf';
const CURRENT_COOKIE = 'idb_journey';
const ENDED_COOKIE = 'idb_ended';
/**
 * The browser that went to an IdP holds a cookie for that journey (sent only to the callbacks),
 * named after the upstream state and keyed by the journey's secret CSRF token: the callback is
 * taken only from that browser, so a leaked callback URL opened elsewhere redeems nothing.
 */
const BINDING_PREFIX = 'idb_idp_';
const bindingName = (state: string) => `${BINDING_PREFIX}${createHash('sha256').update(state).digest('base64url').slice(0, 16)}`;
const bindingValue = (journey: JourneyState, state: string) => createHmac('sha256', journey.csrf).update(`idp-callback ${state}`).digest('base64url');
// HMRC's format (prefixes QQ are the published example, used by the demo identities).
const NI_NUMBER = /^(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-TW-Z][A-CEGHJ-NP-TW-Z]\d{6}[A-D]$/;

const ERROR_DESCRIPTIONS: Record<FailureReason, string> = {
  cancelled: 'The person chose not to continue.',
  no_match: 'The person could not be matched to a record of this service.',
  level_not_met: 'The identity provider did not reach the level of assurance asked for.',
  provider_failed: 'The identity provider could not complete the check.',
  fraud_flagged: 'The identity check could not be completed.',
  timed_out: 'The journey took too long and timed out.',
  matching_failed: 'The service could not be asked to match the person.',
  no_provider: 'The person could not use any of the identity providers.',
};

function oidcErrorFor(reason: FailureReason): string {
  return reason === 'provider_failed' || reason === 'matching_failed' ? 'temporarily_unavailable' : 'access_denied';
}

export function journeyRoutes(options: JourneyRoutesOptions): Router {
  const { provider, policies, upstream, journeys, views, matcher } = options;
  const levels = policies.levels;
  const router = new Router();
  const forms = bodyParser({ enableTypes: ['form'], formLimit: '16kb' });

  const rpFor = (journey: JourneyState): RelyingPartyPolicy => {
    const rp = policies.relyingParty(journey.clientId);
    if (!rp) throw new PublicError(400, 'bad_request', `the service ${journey.clientId} is no longer onboarded`);
    return rp;
  };
  /**
   * Forms on journey pages end in redirects to other origins (the picker to the chosen IdP;
   * consent and "go back" to the service), and CSP form-action applies to those redirects:
   * allow exactly those origins, nothing else.
   */
  const originOf = (url: string) => new URL(url).origin;
  const formOrigins = (journey: JourneyState, page: string): string[] => {
    const rp = policies.relyingParty(journey.clientId);
    const service = rp ? rp.redirect_uris.map(originOf) : [];
    const idps = page === 'picker' ? offered(journey).map((o) => originOf(options.idpIssuer(o.policy.id))) : [];
    return [...new Set([...service, ...idps])];
  };
  const renderFor = <P extends Parameters<Views['render']>[1]>(ctx: Koa.Context, journey: JourneyState, page: P, model: Parameters<Views['render']>[2] & object, opts: { status?: number; locale?: 'en' | 'cy' } = {}) =>
    views.render(ctx, page, model as never, { ...opts, formActionOrigins: formOrigins(journey, page) });
  const path = (journey: JourneyState, page = '') => `/journey/${journey.uid}${page ? `/${page}` : ''}`;

  /** Load the interaction (cookie-bound) and the journey; start the journey on the first visit. */
  async function load(ctx: Koa.Context, { start = false } = {}) {
    // One round trip for both: the interaction's record is held for oidc-provider to find, for
    // the rest of this request (interactionDetails now, interactionResult at the end).
    const uid = String(ctx.params.uid);
    const records = options.oidcRecords;
    const interactionKey = records?.key('Interaction', uid);
    const read = await journeys.readAlong(uid, interactionKey ? [interactionKey] : []);
    if (records && interactionKey) {
      records.hold(interactionKey, read.others[0] ?? null);
      let held = true;
      const release = () => {
        if (held) records.release(interactionKey);
        held = false;
      };
      ctx.res.once('close', release);
      ctx.res.once('finish', release);
    }
    let details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch (e) {
      // No cookie, or an interaction that has ended: the citizen's session is over. Anything
      // else (the store is down) is our fault and fails closed as a server error.
      if (e instanceof errors.SessionNotFound) await throwEnded(ctx, String(ctx.params.uid), 'no interaction session for this request');
      throw e;
    }
    if (details.uid !== ctx.params.uid) await throwEnded(ctx, String(ctx.params.uid), 'interaction does not match the URL');
    let journey = await journeys.open(uid, read.sealed);
    if (!journey) {
      if (!start) await throwEnded(ctx, details.uid, 'no journey for this interaction');
      const params = details.params as Record<string, string | undefined>;
      const rp = policies.relyingParty(String(params.client_id));
      if (!rp) throw new PublicError(400, 'bad_request', 'unknown client');
      const requested = requestedVectors(levels, rp, params).map((v) => levels.format(v));
      journey = await journeys.start({
        uid: details.uid,
        clientId: rp.client_id,
        requested,
        // What the scopes ask for is voluntary: only what the service may receive.
        attributes: requestedAttributes(params.claims, params.scope, rp.permitted_attributes),
        ...(params.ui_locales ? { uiLocales: params.ui_locales } : {}),
      });
    }
    return { details, journey, locale: resolveLocale(ctx, journey.uiLocales) };
  }

  /**
   * Back, refresh or an old tab on a journey that is over: say truthfully how it ended (shared with
   * the service, or gone back to it) with a link to the service, or else that the session ended.
   */
  async function throwEnded(ctx: Koa.Context, uid: string, detail: string): Promise<never> {
    const [outcome, clientId] = (ctx.cookies.get(ENDED_COOKIE) ?? '').split(':');
    const ended = (outcome === 'shared' || outcome === 'returned') && clientId ? { outcome, clientId } as const : undefined;
    const rp = ended ? policies.relyingParty(ended.clientId) : undefined;
    if (!ended || !rp || ctx.params.uid !== uid) throw new PublicError(400, 'session_expired', detail);
    throw new PublicError(200, 'journey_ended', `${detail} (the journey has ended: ${ended.outcome})`, {
      outcome: ended.outcome,
      service: serviceText(rp, resolveLocale(ctx)).name,
      serviceHref: `${originOf(rp.redirect_uris[0]!)}/`,
    });
  }

  /**
   * How the journey ended, kept by the citizen's browser (not by the broker), for that journey's
   * pages only and no longer than a journey lives: the service's id and the outcome, nothing else.
   */
  function rememberEnded(ctx: Koa.Context, journey: JourneyState, outcome: 'shared' | 'returned'): void {
    ctx.cookies.set(ENDED_COOKIE, `${outcome}:${journey.clientId}`, {
      path: path(journey),
      httpOnly: true,
      sameSite: 'lax',
      secure: options.secureCookies,
      maxAge: policies.broker.journey.ttl_minutes * 60 * 1000,
      overwrite: true,
    });
  }

  function checkCsrf(ctx: Koa.Context, journey: JourneyState): void {
    const given = Buffer.from(String((ctx.request.body as Record<string, unknown> | undefined)?.csrf ?? ''));
    const expected = Buffer.from(journey.csrf);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new PublicError(403, 'bad_request', 'CSRF token missing or wrong');
    }
  }

  /** Where the journey wants the citizen now. */
  function pageOf(journey: JourneyState): string {
    switch (journey.name) {
      case 'choosingProvider':
      case 'atProvider':
        return path(journey);
      case 'consenting':
        return path(journey, 'consent');
      case 'needsExtraAttribute':
      case 'matching':
        return path(journey, 'extra');
      case 'failed':
        return path(journey, 'failure');
      case 'complete':
        return path(journey);
    }
  }

  function offered(journey: JourneyState) {
    const requested = journey.requested.map((v) => levels.parseVector(v));
    return [...upstream.offer(requested), ...(options.wallets?.verifier.offer(requested) ?? [])].filter((o) => o.offered);
  }
  const providerName = (id: string, locale: 'en' | 'cy' = 'en') => {
    const p = policies.identityProvider(id) ?? policies.walletProvider(id);
    return p ? providerText(p, locale).name : undefined;
  };

  function renderPicker(ctx: Koa.Context, journey: JourneyState, locale: 'en' | 'cy', error?: 'choose_provider') {
    const rp = rpFor(journey);
    const list = offered(journey);
    const lowest = levels.parseVector(journey.requested[0]!);
    const remembered = ctx.cookies.get(REMEMBER_COOKIE);
    renderFor(ctx, journey, 'picker',
      {
        service: { name: serviceText(rp, locale).name },
        level: { summary: journey.requested.join(' or '), confidenceName: levelName(levels.describe(lowest).confidence, locale) },
        providers: list.map((o) => {
          const text = providerText(o.policy, locale);
          return {
            id: o.policy.id,
            name: text.name,
            organisationType: o.policy.organisation_type,
            ...(text.description ? { description: text.description } : {}),
            hints: text.whatYouWillNeed,
            available: o.available,
          };
        }),
        ...(remembered && list.some((o) => o.available && o.policy.id === remembered) ? { rememberedProviderId: remembered } : {}),
        formAction: path(journey, 'provider'),
        cannotUseHref: path(journey, 'other-ways'),
        unavailableCount: list.filter((o) => !o.available).length,
        csrfToken: journey.csrf,
        ...(error ? { error } : {}),
      },
      { status: error ? 400 : 200, locale },
    );
  }

  /** Send the citizen back to the service with an OIDC error carrying the journey reference. */
  async function returnToService(ctx: Koa.Context, details: Awaited<ReturnType<Provider['interactionDetails']>>, journey: JourneyState & { name: 'failed' }) {
    const params = details.params as Record<string, string | undefined>;
    const target = new URL(String(params.redirect_uri));
    target.searchParams.set('error', oidcErrorFor(journey.reason));
    target.searchParams.set('error_description', ERROR_DESCRIPTIONS[journey.reason]);
    target.searchParams.set('error_reason', journey.reason);
    target.searchParams.set('txn', journey.ref);
    if (journey.caseRef) target.searchParams.set('case_ref', journey.caseRef);
    if (params.state !== undefined) target.searchParams.set('state', params.state);
    target.searchParams.set('iss', options.issuer);
    await journeys.delete(journey);
    await details.destroy();
    rememberEnded(ctx, journey, 'returned');
    ctx.redirect(target.href);
  }

  /** The citizen consented and matching (if any) succeeded: release to the service. */
  async function finish(ctx: Koa.Context, details: Awaited<ReturnType<Provider['interactionDetails']>>, journey: JourneyState, identity: ReturnedIdentity) {
    if (journey.name !== 'complete') throw new InvalidJourneyState(journey.name, 'delivered');
    const rp = rpFor(journey);
    const grant = new provider.Grant({ accountId: identity.internalSubject, clientId: rp.client_id });
    // The grant ends with the journey (the interaction's expiry), not 90 minutes from now.
    if (typeof details.exp === 'number') grant.exp = details.exp;
    // The scopes asked for (openid, and those that ask for attributes) are what the citizen approved.
    grant.addOIDCScope(String((details.params as { scope?: string }).scope ?? 'openid'));
    grant.addOIDCClaims(['sub', 'vot', 'vtm', 'txn', 'verified_claims', 'match']);
    // The grant and the interaction's result are written with the end of the journey, in one
    // round trip (all or nothing where the store allows): the adapter keeps their writes for us.
    const records = options.oidcRecords;
    grant.jti = randomBytes(32).toString('base64url');
    const deferred = records ? [records.key('Grant', grant.jti), records.key('Interaction', details.uid)] : [];
    for (const key of deferred) records!.defer(key);
    try {
      const grantId = await grant.save();
      const delivered: DeliveredClaims = {
        vot: identity.vot,
        vtm: `${options.issuer}/trustmark`,
        txn: journey.ref,
        ...(journey.attributes.length ? { verified_claims: { verification: identity.verification, claims: identity.claims } } : {}),
        ...(journey.accountRef && journey.outcome !== 'signedIn'
          ? { match: { result: journey.outcome === 'accountCreated' ? ('created' as const) : ('matched' as const), account_ref: journey.accountRef } }
          : {}),
      };
      const done = await journeys.applyOnly({ ...journey, released: Object.keys(delivered.verified_claims?.claims ?? {}) }, [{ type: 'delivered', grantId }]);
      const redirectTo = await provider.interactionResult(
        ctx.req,
        ctx.res,
        { login: { accountId: identity.internalSubject, acr: identity.vot, remember: false }, consent: { grantId } },
        { mergeWithLastSubmission: false },
      );
      // Everything the service will get now sits sealed under the grant, until its token request
      // takes it; the journey itself is gone.
      await journeys.end(done, [options.deliveryWrite(grantId, delivered)], deferred.flatMap((key) => records!.take(key)));
      rememberEnded(ctx, journey, 'shared');
      if (journey.receipt && options.receipts) return showReceipt(ctx, journey, delivered, redirectTo);
      ctx.redirect(redirectTo);
    } finally {
      for (const key of deferred) records!.take(key);
    }
  }

  /**
   * The citizen asked for a consent receipt: sign it, and show it with buttons to save it and a
   * way on to the service. The broker keeps no copy: the receipt lives in this page (and in the
   * citizen's download) only.
   */
  async function showReceipt(ctx: Koa.Context, journey: JourneyState, delivered: DeliveredClaims, continueHref: string) {
    const rp = rpFor(journey);
    const released = Object.keys(delivered.verified_claims?.claims ?? {});
    const { jws, receipt } = await options.receipts!.sign({
      journeyRef: journey.ref,
      consentTime: new Date(),
      service: { id: rp.client_id, name: rp.display_name, organisation: rp.organisation },
      attributes: released,
      level: delivered.vot,
    });
    const csrfToken = randomBytes(24).toString('base64url');
    ctx.cookies.set(RECEIPT_CSRF_COOKIE, csrfToken, { httpOnly: true, sameSite: 'strict', secure: options.secureCookies, path: '/consent-receipt', overwrite: true });
    renderFor(ctx, journey, 'consent-receipt',
      { service: { name: rp.display_name, organisation: rp.organisation }, attributes: released, level: receipt.level, journeyRef: journey.ref, receiptId: receipt.jti, jws, formAction: '/consent-receipt', csrfToken, continueHref },
      { locale: resolveLocale(ctx, journey.uiLocales) },
    );
  }

  // Save a consent receipt: the page posts back the receipt it was given; the broker checks its
  // own signature and returns it as a file (.jwt, or .json with the decoded fields beside it).
  router.post('/consent-receipt', forms, async (ctx) => {
    if (!options.receipts) throw new PublicError(404, 'not_found', 'consent receipts are not enabled');
    const body = ctx.request.body as Record<string, string | undefined>;
    const expected = ctx.cookies.get(RECEIPT_CSRF_COOKIE) ?? '';
    const given = Buffer.from(String(body.csrf ?? ''));
    if (!expected || given.length !== Buffer.byteLength(expected) || !timingSafeEqual(given, Buffer.from(expected))) throw new PublicError(403, 'bad_request', 'consent receipt download without CSRF token');
    let receipt;
    try {
      receipt = await options.receipts.verify(String(body.receipt ?? ''));
    } catch {
      throw new PublicError(400, 'bad_request', 'not a consent receipt signed by this broker');
    }
    const name = `consent-receipt-${receipt.journey_reference}`;
    ctx.set('Cache-Control', 'no-store');
    if (body.format === 'json') {
      ctx.type = 'application/json';
      ctx.attachment(`${name}.json`);
      ctx.body = `${JSON.stringify({ receipt, jws: body.receipt, verify: { jwks_uri: new URL('/jwks', options.issuer).href, alg: 'ES256', typ: 'consent-receipt+jwt' } }, null, 2)}\n`;
    } else {
      ctx.type = 'application/jwt';
      ctx.attachment(`${name}.jwt`);
      ctx.body = String(body.receipt);
    }
  });

  /** Ask the service to match, and follow Verify's order: match, one extra detail, create, or no match. */
  async function runMatching(ctx: Koa.Context, details: Awaited<ReturnType<Provider['interactionDetails']>>, state: Matching) {
    const rp = rpFor(state);
    let events: JourneyEvent[];
    if (!rp.matching) {
      events = [{ type: 'signedInWithoutMatching' }];
    } else {
      const pairwise = pairwiseSubject(options.subjectKeys.pairwise, rp.sector_identifier, state.identity.internalSubject);
      const outcome = await matcher.match({ rp, journey: state, subject: pairwise, mode: 'match' });
      if (outcome.result === 'match') events = [{ type: 'matched', accountRef: outcome.accountRef }];
      else if (outcome.result === 'created') events = [{ type: 'accountCreated', accountRef: outcome.accountRef }];
      else if (outcome.result === 'failed') events = [{ type: 'matchingFailed' }];
      else {
        const extra = rp.matching.extra_attribute;
        const wanted = outcome.result === 'need-attribute' ? outcome.attribute : extra;
        if (wanted === 'ni_number' && !state.extra?.ni_number) {
          events = [{ type: 'extraAttributeNeeded', attribute: 'ni_number' }];
        } else if (rp.matching.account_creation) {
          const created = await matcher.match({ rp, journey: state, subject: pairwise, mode: 'create' });
          events =
            created.result === 'created' || created.result === 'match'
              ? [{ type: 'accountCreated', accountRef: created.accountRef }]
              : created.result === 'failed'
                ? [{ type: 'matchingFailed' }]
                : [{ type: 'notMatched' }];
        } else {
          events = [{ type: 'notMatched' }];
        }
      }
    }
    const next = await journeys.applyOnly(state, events);
    if (next.name === 'complete') return finish(ctx, details, next, state.identity);
    await journeys.save(next);
    ctx.redirect(pageOf(next));
  }

  /**
   * Where this browser's journey is now. The IdP stub links here from a sign-in page reached with
   * Back after the sign-in finished, so Back never ends on a provider's dead end.
   */
  router.get('/journey/resume', async (ctx) => {
    const uid = ctx.cookies.get(CURRENT_COOKIE);
    if (!uid || !/^[A-Za-z0-9_-]{8,128}$/.test(uid)) throw new PublicError(400, 'session_expired', 'no journey to resume in this browser');
    ctx.redirect(path({ uid } as JourneyState));
  });

  router.get('/journey/:uid', async (ctx) => {
    const { journey, locale } = await load(ctx, { start: true });
    // This browser's journey, for /journey/resume (a random uid; gone when the browser closes).
    if (ctx.cookies.get(CURRENT_COOKIE) !== journey.uid) {
      ctx.cookies.set(CURRENT_COOKIE, journey.uid, { httpOnly: true, sameSite: 'lax', secure: options.secureCookies, overwrite: true });
    }
    if (journey.name !== 'choosingProvider' && journey.name !== 'atProvider') return ctx.redirect(pageOf(journey));
    renderPicker(ctx, journey, locale);
  });

  router.post('/journey/:uid/provider', forms, async (ctx) => {
    const { journey, locale } = await load(ctx);
    checkCsrf(ctx, journey);
    if (journey.name !== 'choosingProvider' && journey.name !== 'atProvider') return ctx.redirect(pageOf(journey));
    const body = ctx.request.body as Record<string, string | undefined>;
    const choice = offered(journey).find((o) => o.available && o.policy.id === body.provider);
    if (!choice) return renderPicker(ctx, journey, locale, 'choose_provider');
    let redirectTo: string;
    if (choice.policy.kind === 'wallet' && options.wallets) {
      redirectTo = await options.wallets.choose(journey, choice.policy.id);
    } else {
      const { url, secrets } = await upstream.beginAuthorization(choice.policy.id, {
        requested: journey.requested.map((v) => levels.parseVector(v)),
        // Every provider is asked for the federation's standard set, whatever this service asked for,
        // so that what a provider is asked cannot tell it which service this is (docs/adr/0004). Only
        // what the service asked for is kept on the way back.
        attributes: policies.broker.identity_provider_request.attributes,
        // The language the person sees now, always sent: never whether or what the service asked.
        uiLocales: locale,
      });
      const next = await journeys.applyOnly(journey, [{ type: 'idpChosen', idpId: choice.policy.id, upstream: secrets }]);
      await journeys.save(next, [journeys.upstreamBinding(secrets.state, journey.uid, next)]);
      ctx.cookies.set(bindingName(secrets.state), bindingValue(next, secrets.state), {
        httpOnly: true,
        // Lax: sent on the top-level redirect back from the IdP (another site), not on its subrequests.
        sameSite: 'lax',
        secure: options.secureCookies,
        path: '/idp/',
        maxAge: policies.broker.journey.ttl_minutes * 60_000,
        overwrite: true,
      });
      redirectTo = url.href;
    }
    if (body.remember === 'yes') {
      ctx.cookies.set(REMEMBER_COOKIE, choice.policy.id, { httpOnly: true, sameSite: 'lax', secure: options.secureCookies, maxAge: 365 * 24 * 3600 * 1000, overwrite: true });
    } else {
      ctx.cookies.set(REMEMBER_COOKIE, null, { httpOnly: true, sameSite: 'lax', secure: options.secureCookies, overwrite: true });
    }
    ctx.status = 303;
    ctx.redirect(redirectTo);
  });

  router.get('/idp/:idpId/callback', async (ctx) => {
    const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
    const found = state ? await journeys.peekUpstream(state) : null;
    if (!found) throw new PublicError(400, 'session_expired', 'unknown, used or missing state at the IdP callback');
    const journey = await journeys.load(found);
    if (!journey) throw new PublicError(400, 'session_expired', 'journey gone at the IdP callback');
    // Only the browser that went to the IdP may come back with its answer. Another one is told
    // so, and the state stays usable for the right browser: nothing is redeemed.
    const given = Buffer.from(ctx.cookies.get(bindingName(state)) ?? '');
    const expected = Buffer.from(bindingValue(journey, state));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new PublicError(400, 'other_browser', 'IdP callback from a browser that did not start this journey');
    }
    const uid = await journeys.takeUpstream(state);
    if (uid !== journey.uid) throw new PublicError(400, 'session_expired', 'state used meanwhile at the IdP callback');
    ctx.cookies.set(bindingName(state), null, { httpOnly: true, sameSite: 'lax', secure: options.secureCookies, path: '/idp/', overwrite: true });
    if (journey.name !== 'atProvider' || 'kind' in journey.upstream || journey.idpId !== ctx.params.idpId || journey.upstream.state !== state) {
      throw new PublicError(400, 'bad_request', 'IdP callback does not belong to this journey');
    }
    const callbackUrl = new URL(ctx.originalUrl, options.issuer);
    let event: JourneyEvent;
    try {
      const identity = await upstream.completeAuthorization(journey.idpId, callbackUrl, journey.upstream);
      // Only what the service asked for (and is permitted: checked at /authorize) is kept, and the
      // service is told the strongest level it asked for that was met (journey/returned.ts).
      event = {
        type: 'idpReturned',
        identity: returnedIdentity(
          { providerId: identity.idpId, subject: identity.subject, achieved: identity.achieved, claims: identity.verifiedClaims.claims },
          journey,
          levels,
          options.subjectKeys.internal,
        ),
      };
    } catch (e) {
      if (!(e instanceof UpstreamError)) throw e;
      ctx.state.failureDetail = e.detail;
      event = { type: 'idpFailed', reason: e.reason === 'invalid_response' ? 'provider_failed' : e.reason };
    }
    const next = await journeys.apply(journey, [event]);
    ctx.redirect(next.name === 'consenting' ? path(next, 'consent') : pageOf(next));
  });

  router.get('/journey/:uid/consent', async (ctx) => {
    const { journey, locale } = await load(ctx);
    if (journey.name !== 'consenting') return ctx.redirect(pageOf(journey));
    const rp = rpFor(journey);
    renderFor(ctx, journey, 'consent',
      {
        service: { name: serviceText(rp, locale).name, organisation: serviceText(rp, locale).organisation },
        provider: { name: providerName(journey.idpId, locale) ?? journey.idpId },
        attributes: journey.attributes
          .filter((a) => journey.identity.claims[a] !== undefined)
          .map((a: AttributeName) => ({ name: a, value: formatAttribute(a, journey.identity.claims[a], locale) })),
        formAction: path(journey, 'consent'),
        anotherAction: path(journey, 'another'),
        csrfToken: journey.csrf,
        offerReceipt: options.receipts !== undefined,
      },
      { locale },
    );
  });

  router.post('/journey/:uid/consent', forms, async (ctx) => {
    const { details, journey } = await load(ctx);
    checkCsrf(ctx, journey);
    if (journey.name !== 'consenting') return ctx.redirect(pageOf(journey));
    const decision = (ctx.request.body as Record<string, string | undefined>).decision;
    if (decision !== 'approve') {
      const next = await journeys.apply(journey, [{ type: 'consentRefused' }]);
      return ctx.redirect(pageOf(next));
    }
    const given = await journeys.applyOnly(journey, [{ type: 'consentGiven' }]);
    if (given.name !== 'matching') throw new InvalidJourneyState(given.name, 'consentGiven');
    const wantsReceipt = (ctx.request.body as Record<string, string | undefined>).receipt === 'yes' && options.receipts !== undefined;
    await runMatching(ctx, details, wantsReceipt ? { ...given, receipt: true } : given);
  });

  router.get('/journey/:uid/extra', async (ctx) => {
    const { journey, locale } = await load(ctx);
    if (journey.name !== 'needsExtraAttribute') return ctx.redirect(pageOf(journey));
    const rp = rpFor(journey);
    renderFor(ctx, journey, 'extra-attribute', { service: { name: serviceText(rp, locale).name }, attribute: journey.attribute, formAction: path(journey, 'extra'), csrfToken: journey.csrf }, { locale });
  });

  router.post('/journey/:uid/extra', forms, async (ctx) => {
    const { details, journey, locale } = await load(ctx);
    checkCsrf(ctx, journey);
    if (journey.name !== 'needsExtraAttribute') return ctx.redirect(pageOf(journey));
    const body = ctx.request.body as Record<string, string | undefined>;
    if (body.decision === 'skip') {
      const next = await journeys.apply(journey, [{ type: 'extraAttributeDeclined' }]);
      return ctx.redirect(pageOf(next));
    }
    const raw = String(body.value ?? '');
    const value = raw.toUpperCase().replace(/[\s-]/g, '');
    const error = value === '' ? 'required' : NI_NUMBER.test(value) ? undefined : 'invalid_format';
    if (error) {
      const rp = rpFor(journey);
      return renderFor(ctx, journey, 'extra-attribute',
        { service: { name: serviceText(rp, locale).name }, attribute: journey.attribute, value: raw.slice(0, 20), error, formAction: path(journey, 'extra'), csrfToken: journey.csrf },
        { status: 400, locale },
      );
    }
    const matching = await journeys.applyOnly(journey, [{ type: 'extraAttributeGiven', attribute: 'ni_number', value }]);
    if (matching.name !== 'matching') throw new InvalidJourneyState(matching.name, 'extraAttributeGiven');
    await runMatching(ctx, details, matching);
  });

  router.get('/journey/:uid/failure', async (ctx) => {
    const { journey, locale } = await load(ctx);
    if (journey.name !== 'failed') return ctx.redirect(pageOf(journey));
    const rp = rpFor(journey);
    const idpName = journey.idpId ? providerName(journey.idpId, locale) : undefined;
    const service = serviceText(rp, locale);
    // Help asked for: the case is the news (its reference is the journey's), not the failure.
    if (journey.caseRef) {
      return renderFor(ctx, journey, 'case-created',
        { reference: journey.caseRef, service: { name: service.name }, statusHref: '/support/case', returnAction: path(journey, 'return'), csrfToken: journey.csrf },
        { locale },
      );
    }
    const others = offered(journey).filter((o) => o.available && (!journey.idpId || o.policy.id !== journey.idpId || journey.reason === 'cancelled'));
    // The person chose to stop: nothing went wrong, so no reference to quote and no help to ask for.
    const stoppedByPerson = journey.reason === 'cancelled';
    renderFor(ctx, journey, 'failure',
      {
        reason: journey.reason,
        service: { name: service.name },
        ...(idpName ? { provider: { name: idpName } } : {}),
        ...(stoppedByPerson ? {} : { journeyRef: journey.ref }),
        ...(RETRYABLE_WITH_ANOTHER_PROVIDER.includes(journey.reason) && others.length > 0 ? { tryAnotherAction: path(journey, 'another') } : {}),
        otherWays: service.otherWays,
        ...(options.support && !stoppedByPerson ? { helpAction: path(journey, 'help') } : {}),
        returnAction: path(journey, 'return'),
        csrfToken: journey.csrf,
      },
      { locale },
    );
  });

  // Get help: the citizen may describe what happened and leave contact details, then a case opens.
  router.post('/journey/:uid/help', forms, async (ctx) => {
    const { journey, locale } = await load(ctx);
    checkCsrf(ctx, journey);
    if (journey.name !== 'failed' || !options.support) return ctx.redirect(pageOf(journey));
    if (journey.caseRef) return ctx.redirect(pageOf(journey));
    const body = ctx.request.body as Record<string, string | undefined>;
    const rp = rpFor(journey);
    if (body.step !== 'open') {
      return renderFor(ctx, journey, 'case-create', { service: { name: serviceText(rp, locale).name }, journeyRef: journey.ref, formAction: path(journey, 'help'), backHref: path(journey, 'failure'), csrfToken: journey.csrf }, { locale });
    }
    const description = String(body.description ?? '').trim().slice(0, 1000);
    const contact = String(body.contact ?? '').trim().slice(0, 200);
    const { reference } = await options.support.openCase({
      journeyRef: journey.ref,
      clientId: journey.clientId,
      ...(journey.idpId ? { idpId: journey.idpId } : {}),
      requested: journey.requested,
      stage: journey.stage,
      reason: journey.reason,
      ...(description ? { description } : {}),
      ...(contact ? { contact } : {}),
      locale,
    });
    await journeys.save({ ...journey, caseRef: reference });
    ctx.redirect(pageOf(journey));
  });

  router.get('/journey/:uid/other-ways', async (ctx) => {
    const { journey, locale } = await load(ctx);
    const rp = rpFor(journey);
    renderFor(ctx, journey, 'other-ways',
      {
        service: { name: serviceText(rp, locale).name },
        ways: serviceText(rp, locale).otherWays,
        ...(journey.name === 'choosingProvider' || journey.name === 'atProvider' ? { backHref: path(journey) } : {}),
        returnAction: path(journey, 'return'),
        csrfToken: journey.csrf,
      },
      { locale },
    );
  });

  router.post('/journey/:uid/another', forms, async (ctx) => {
    const { journey } = await load(ctx);
    checkCsrf(ctx, journey);
    if (journey.name !== 'failed' && journey.name !== 'atProvider' && journey.name !== 'consenting') return ctx.redirect(pageOf(journey));
    const next = await journeys.apply(journey, [{ type: 'anotherProviderRequested' }]);
    ctx.redirect(pageOf(next));
  });

  router.post('/journey/:uid/return', forms, async (ctx) => {
    const { details, journey } = await load(ctx);
    checkCsrf(ctx, journey);
    let failed = journey;
    // Giving up before choosing (or after coming back from) a provider: "I cannot use any of these".
    if (failed.name === 'atProvider') failed = await journeys.applyOnly(failed, [{ type: 'anotherProviderRequested' }]);
    if (failed.name === 'choosingProvider') failed = await journeys.applyOnly(failed, [{ type: 'noProviderUsable' }]);
    if (failed.name !== 'failed') return ctx.redirect(pageOf(failed));
    await returnToService(ctx, details, failed);
  });

  return router;
}
