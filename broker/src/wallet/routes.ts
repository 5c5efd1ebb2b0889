/**
 * The wallet leg of the journey over HTTP. Choosing a wallet in the picker starts a presentation
 * request; the wallet fetches it, answers the broker directly (direct_post.jwt), and the citizen's
 * browser brings the journey on: same device through the redirect the wallet is given (with a
 * one-time response code, so only the browser that started can continue), another device by
 * pressing "continue" on the page that showed the QR code.
 *
 *   GET  /journey/:uid/wallet                    the request page (link, QR code); ?response_code= back from the wallet
 *   POST /journey/:uid/wallet                    "I have shared from my other device": continue
 *   GET  /wallet/request/:state/:device          the signed request object (request_uri), device = same | cross
 *   POST /wallet/response/:state                 the wallet's answer (response_uri): once
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type Koa from 'koa';
import { errors, type default as Provider } from 'oidc-provider';
import QRCode from 'qrcode';
import type { Policies } from '@idbroker/policies';
import type { Store } from '../store/index.js';
import type { Views } from '../views/index.js';
import { resolveLocale } from '../views/index.js';
import { PublicError } from '../errors.js';
import { UpstreamError } from '../upstream/errors.js';
import type { Journeys } from '../journey/journeys.js';
import type { AtProvider, JourneyState, ReturnedIdentity } from '../journey/journey-state.js';
import type { JourneyEvent } from '../journey/events.js';
import type { WalletIdentity, WalletSecrets, WalletVerifier } from './verifier.js';

export interface WalletJourneyOptions {
  issuer: string;
  provider: Provider;
  policies: Policies;
  verifier: WalletVerifier;
  journeys: Journeys;
  views: Views;
  store: Store;
  /** The journey's returned identity from a verified presentation (the same shape as from an IdP). */
  toReturned(identity: WalletIdentity, journey: { attributes: readonly string[]; requested: readonly string[] }): ReturnedIdentity;
}

export interface WalletJourney {
  router: Router;
  verifier: WalletVerifier;
  /** The citizen chose this wallet in the picker: start a request; where to send the browser. */
  choose(journey: JourneyState, walletId: string): Promise<string>;
}

type AtWallet = AtProvider & { upstream: WalletSecrets };
const requestKey = (state: string) => `wallet-request:{${state}}`;
const STATE = /^[A-Za-z0-9_-]{16,128}$/;

export function isAtWallet(journey: JourneyState): journey is AtWallet {
  return journey.name === 'atProvider' && (journey.upstream as { kind?: string }).kind === 'wallet';
}

export function walletJourney(options: WalletJourneyOptions): WalletJourney {
  const { provider, policies, verifier, journeys, views, store } = options;
  const levels = policies.levels;
  const router = new Router();
  const forms = bodyParser({ enableTypes: ['form'], formLimit: '16kb' });
  const walletForm = bodyParser({ enableTypes: ['form'], formLimit: '256kb' });
  const path = (journey: JourneyState, page = '') => `/journey/${journey.uid}${page ? `/${page}` : ''}`;

  async function choose(journey: JourneyState, walletId: string): Promise<string> {
    const { secrets, requestJwt } = await verifier.begin(walletId, {
      requested: journey.requested.map((v) => levels.parseVector(v)),
      // Like every IdP, every wallet is asked for the federation's standard set, whatever this service
      // asked for, so the request cannot tell the wallet which service this is (docs/adr/0004). Only
      // what the service asked for is kept from the answer (journey/returned.ts).
      attributes: policies.broker.identity_provider_request.attributes,
    });
    const next = await journeys.applyOnly(journey, [{ type: 'idpChosen', idpId: walletId, upstream: secrets }]);
    const { ttlSeconds } = journeys.upstreamBinding(secrets.state, journey.uid, next);
    await journeys.save(next, [{ key: requestKey(secrets.state), value: JSON.stringify({ uid: journey.uid, jwt: requestJwt }), ttlSeconds }]);
    return path(journey, 'wallet');
  }

  /** The journey this browser started (the interaction cookie), at the wallet. */
  async function load(ctx: Koa.Context): Promise<{ journey: JourneyState; locale: 'en' | 'cy' }> {
    let details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch (e) {
      if (e instanceof errors.SessionNotFound) throw new PublicError(400, 'session_expired', 'no interaction session at the wallet page');
      throw e;
    }
    if (details.uid !== ctx.params.uid) throw new PublicError(400, 'session_expired', 'interaction does not match the URL');
    const journey = await journeys.load(details.uid);
    if (!journey) throw new PublicError(400, 'session_expired', 'no journey at the wallet page');
    return { journey, locale: resolveLocale(ctx, journey.uiLocales) };
  }

  /** Move the journey on with the wallet's answer. */
  async function proceed(ctx: Koa.Context, journey: AtWallet): Promise<void> {
    const answer = journey.upstream.answer!;
    const event: JourneyEvent = answer.ok ? { type: 'idpReturned', identity: answer.identity } : { type: 'idpFailed', reason: answer.reason };
    if (!answer.ok) ctx.state.failureDetail = answer.detail;
    const next = await journeys.apply(journey, [event]);
    ctx.redirect(next.name === 'consenting' ? path(next, 'consent') : next.name === 'failed' ? path(next, 'failure') : path(next));
  }

  async function renderPage(ctx: Koa.Context, journey: AtWallet, locale: 'en' | 'cy', notYet = false) {
    const wallet = policies.walletProvider(journey.upstream.walletId);
    const sameDevice = await verifier.authorizationUrl(journey.upstream, 'same');
    const crossDevice = wallet?.wallet.cross_device ? await verifier.authorizationUrl(journey.upstream, 'cross') : undefined;
    const qr = crossDevice ? await QRCode.toString(crossDevice, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }) : undefined;
    views.render(
      ctx,
      'wallet',
      {
        provider: { name: wallet?.display_name ?? journey.upstream.walletId },
        sameDeviceHref: sameDevice,
        ...(qr ? { qrDataUri: `data:image/svg+xml;base64,${Buffer.from(qr).toString('base64')}`, continueAction: path(journey, 'wallet') } : {}),
        anotherAction: path(journey, 'another'),
        csrfToken: journey.csrf,
        ...(notYet ? { notYet: true } : {}),
      },
      { locale, status: notYet ? 400 : 200 },
    );
  }

  router.get('/journey/:uid/wallet', async (ctx) => {
    const { journey, locale } = await load(ctx);
    if (!isAtWallet(journey)) return ctx.redirect(journey.name === 'consenting' ? path(journey, 'consent') : journey.name === 'failed' ? path(journey, 'failure') : path(journey));
    const code = typeof ctx.query.response_code === 'string' ? ctx.query.response_code : undefined;
    if (code !== undefined) {
      const expected = journey.upstream.responseCode;
      const given = Buffer.from(code);
      if (!expected || !journey.upstream.answer || given.length !== Buffer.byteLength(expected) || !timingSafeEqual(given, Buffer.from(expected))) {
        throw new PublicError(400, 'bad_request', 'wrong or used response code at the wallet return');
      }
      return proceed(ctx, journey);
    }
    await renderPage(ctx, journey, locale);
  });

  router.post('/journey/:uid/wallet', forms, async (ctx) => {
    const { journey, locale } = await load(ctx);
    const given = Buffer.from(String((ctx.request.body as Record<string, unknown> | undefined)?.csrf ?? ''));
    if (given.length !== Buffer.byteLength(journey.csrf) || !timingSafeEqual(given, Buffer.from(journey.csrf))) throw new PublicError(403, 'bad_request', 'CSRF token missing or wrong');
    if (!isAtWallet(journey)) return ctx.redirect(path(journey));
    // Another device answered: the page that showed the QR code continues. This device's own
    // answers come back through the response code only.
    if (journey.upstream.answer && journey.upstream.device === 'cross') return proceed(ctx, journey);
    await renderPage(ctx, journey, locale, true);
  });

  router.get('/wallet/request/:state/:device', async (ctx) => {
    const state = ctx.params.state!;
    const device = ctx.params.device === 'cross' ? 'cross' : ctx.params.device === 'same' ? 'same' : undefined;
    const raw = STATE.test(state) && device ? await store.get(requestKey(state)) : null;
    if (!raw) {
      ctx.status = 404;
      ctx.body = { error: 'invalid_request_uri' };
      return;
    }
    const { uid, jwt } = JSON.parse(raw) as { uid: string; jwt: string };
    const journey = await journeys.load(uid);
    if (!journey || !isAtWallet(journey) || journey.upstream.state !== state) {
      ctx.status = 404;
      ctx.body = { error: 'invalid_request_uri' };
      return;
    }
    if (journey.upstream.device !== device) await journeys.save({ ...journey, upstream: { ...journey.upstream, device } });
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'application/oauth-authz-req+jwt';
    ctx.body = jwt;
  });

  router.post('/wallet/response/:state', walletForm, async (ctx) => {
    const state = ctx.params.state!;
    ctx.set('Cache-Control', 'no-store');
    // Once: a second post of the same (or any) answer to this request finds nothing.
    const raw = STATE.test(state) ? await store.take(requestKey(state)) : null;
    const refuse = (error: string, description: string) => {
      ctx.state.failureDetail = description;
      ctx.status = 400;
      ctx.body = { error, error_description: description };
    };
    if (!raw) return refuse('invalid_request', 'unknown or already answered request');
    const { uid } = JSON.parse(raw) as { uid: string };
    const journey = await journeys.load(uid);
    if (!journey || !isAtWallet(journey) || journey.upstream.state !== state || journey.upstream.answer) return refuse('invalid_request', 'the journey is not waiting for this wallet');
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    let answer: NonNullable<WalletSecrets['answer']>;
    try {
      const identity = await verifier.complete(body, journey.upstream);
      answer = { ok: true, identity: options.toReturned(identity, journey) };
    } catch (e) {
      if (!(e instanceof UpstreamError)) throw e;
      const reason = e.reason === 'invalid_response' ? 'provider_failed' : e.reason;
      answer = { ok: false, reason, detail: e.detail };
    }
    const device = journey.upstream.device ?? 'same';
    const responseCode = device === 'same' ? randomBytes(24).toString('base64url') : undefined;
    // The key of the encrypted answer is of no further use: it goes with the answer.
    const { encryptionKey: _spent, ...rest } = journey.upstream;
    void _spent;
    await journeys.save({ ...journey, upstream: { ...rest, encryptionKey: {}, answer, ...(responseCode ? { responseCode } : {}) } });
    ctx.status = 200;
    ctx.body = responseCode ? { redirect_uri: `${options.issuer.replace(/\/+$/, '')}${path(journey, 'wallet')}?response_code=${responseCode}` } : {};
  });

  return { router, verifier, choose };
}
