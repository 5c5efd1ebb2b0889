/**
 * The consent receipt: shown after release when the citizen asked for one, and POST
 * /consent-receipt to save it as a file.
 */
import type Koa from 'koa';
import type { JourneyKit } from './journey-kit.js';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { PublicError } from '../../errors.js';
import { resolveLocale } from '../../views/index.js';
import type { DeliveredClaims } from '../../oidc/provider.js';
import type { JourneyState } from '../journey-state.js';

/** CSRF token (double submit) of the consent receipt download form. */
const RECEIPT_CSRF_COOKIE = 'idb_receipt_csrf';

/**
 * The citizen asked for a consent receipt: sign it, and show it with buttons to save it and a
 * way on to the service. The broker keeps no copy: the receipt lives in this page (and in the
 * citizen's download) only.
 */
export async function showReceipt(ctx: Koa.Context, kit: JourneyKit, journey: JourneyState, delivered: DeliveredClaims, continueHref: string): Promise<void> {
  const { options, rpFor, renderFor } = kit;
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
export async function saveConsentReceipt(ctx: Koa.Context, kit: JourneyKit): Promise<void> {
  const { options } = kit;
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
}
