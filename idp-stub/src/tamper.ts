/** The token fail modes: after oidc-provider made a good ID token, make it wrong in the way asked. */
import { randomBytes } from 'node:crypto';
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK, type JWTPayload } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { StubContext } from './stub-context.js';

export async function tamperIdToken(stub: StubContext, ctx: KoaContextWithOIDC): Promise<void> {
  const body = ctx.body as { id_token?: unknown } | undefined;
  if (!body || typeof body !== 'object' || typeof body.id_token !== 'string') return;
  const grantId = ctx.oidc?.entities?.AuthorizationCode?.grantId;
  const mode = grantId ? stub.facts.get(grantId)?.tamper : undefined;
  if (!mode) return;
  const payload: JWTPayload & Record<string, unknown> = { ...decodeJwt(body.id_token) };
  const header = decodeProtectedHeader(body.id_token);
  const t = Math.floor(stub.now().getTime() / 1000);
  switch (mode) {
    case 'wrong-iss':
      payload.iss = `${stub.issuer}/another-issuer`;
      break;
    case 'wrong-aud':
      payload.aud = 'another-client';
      break;
    case 'wrong-nonce':
      payload.nonce = randomBytes(16).toString('base64url');
      break;
    case 'no-nonce':
      delete payload.nonce;
      break;
    case 'expired':
      Object.assign(payload, { iat: t - 7200, auth_time: t - 7200, exp: t - 3600 });
      break;
    case 'future':
      Object.assign(payload, { iat: t + 3600, nbf: t + 3600, exp: t + 7200 });
      break;
    default:
      break;
  }
  const key =
    mode === 'wrong-signature'
      ? (await generateKeyPair('ES256')).privateKey
      : await importJWK(stub.signingKey, 'ES256');
  body.id_token = await new SignJWT(payload).setProtectedHeader({ alg: 'ES256', ...(header.kid ? { kid: header.kid } : {}), ...(header.typ ? { typ: header.typ } : {}) }).sign(key);
}
