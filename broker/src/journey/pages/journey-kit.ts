/**
 * What every journey page and action shares: the options the journey runs with, loading the
 * journey with its interaction (the gatekeeper: a request for a page the journey does not allow
 * now is sent to the page it does), the cookies, the CSRF check and rendering with the right
 * form-action origins. Pages and actions are in this folder, one module each; the table that
 * wires them is ../routes.ts.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type Koa from 'koa';
import { errors, type default as Provider } from 'oidc-provider';
import { providerText, serviceText, type Policies, type RelyingPartyPolicy } from '@idbroker/policies';
import type { IdentityProviders } from '../../upstream/index.js';
import type { Views } from '../../views/index.js';
import { resolveLocale } from '../../views/index.js';
import { requestedAttributes, requestedVectors } from '../../oidc/requested.js';
import type { WalletJourney } from '../../wallet/routes.js';
import type { DeliveredClaims } from '../../oidc/provider.js';
import type { Journeys } from '../journeys.js';
import type { FailureReason, JourneyState } from '../journey-state.js';
import type { Matcher } from '../../matching/index.js';
import type { OidcRecords } from '../../store/oidc-adapter.js';
import { PublicError } from '../../errors.js';
import type { ConsentReceipts } from '../consent-receipt.js';

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
    /** The person said they cannot wait (the case is listed as urgent). */
    cannotWait?: boolean;
    contact?: string;
    locale: 'en' | 'cy';
  }): Promise<{ reference: string }>;
}

export const REMEMBER_COOKIE = 'idb_provider';
export const CURRENT_COOKIE = 'idb_journey';
export const ENDED_COOKIE = 'idb_ended';
/**
 * The browser that went to an IdP holds a cookie for that journey (sent only to the callbacks),
 * named after the upstream state and keyed by the journey's secret CSRF token: the callback is
 * taken only from that browser, so a leaked callback URL opened elsewhere redeems nothing.
 */
const BINDING_PREFIX = 'idb_idp_';
export const bindingName = (state: string) => `${BINDING_PREFIX}${createHash('sha256').update(state).digest('base64url').slice(0, 16)}`;
export const bindingValue = (journey: JourneyState, state: string) => createHmac('sha256', journey.csrf).update(`idp-callback ${state}`).digest('base64url');

/** The interaction as oidc-provider gives it. */
export type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

export type JourneyKit = ReturnType<typeof createJourneyKit>;

export function createJourneyKit(options: JourneyRoutesOptions) {
  const { provider, policies, upstream, journeys, views, matcher } = options;
  const levels = policies.levels;

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

  return {
    options, provider, policies, upstream, journeys, views, matcher, levels,
    rpFor, originOf, renderFor, path, load, throwEnded, rememberEnded, checkCsrf, pageOf, offered, providerName,
  };
}
