/**
 * The wallet's side of OpenID4VP 1.0 (@openid4vc/openid4vp): fetch and check the signed request
 * (x509_hash client identifier: the request's x5c chain must end in the verifier registrar root,
 * and its leaf's hash must be the client_id), present an SD-JWT VC with the claims the person chose
 * and a key binding JWT, encrypt the answer to the request's key (direct_post.jwt), and post it.
 */
import { X509Certificate, createHash, randomBytes } from 'node:crypto';
import { Openid4vpClient, type ResolvedOpenid4vpAuthorizationRequest } from '@openid4vc/openid4vp';
import type { CallbackContext, Jwk } from '@openid4vc/oauth2';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { ES256, digest, generateSalt } from '@sd-jwt/crypto-nodejs';
import { CompactEncrypt, SignJWT, compactVerify, importJWK, importX509 } from 'jose';
import type { IssuedCredential } from './issuer.js';

export interface ResolvedRequest {
  resolved: ResolvedOpenid4vpAuthorizationRequest;
  clientId: string;
  /** The verifier's name, from its certificate (the broker: never the service). */
  verifierName: string;
  nonce: string;
  state: string | undefined;
  responseUri: string;
  /** The claim names the DCQL query asks for. */
  claims: string[];
}

export class RequestRefused extends Error {
  override readonly name = 'RequestRefused';
}

const sha256 = (data: Uint8Array) => new Uint8Array(createHash('sha256').update(data).digest());

function callbacks(trustedRoots: X509Certificate[], now: () => Date): Omit<CallbackContext, 'generateRandom' | 'clientAuthentication'> {
  return {
    fetch: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(10_000) }),
    hash: sha256,
    getX509CertificateMetadata: (certificate) => {
      const cert = new X509Certificate(Buffer.from(certificate, 'base64'));
      const names = (cert.subjectAltName ?? '').split(/,\s*/);
      return { sanDnsNames: names.filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4)), sanUriNames: names.filter((n) => n.startsWith('URI:')).map((n) => n.slice(4)) };
    },
    signJwt: () => {
      throw new Error('not used');
    },
    decryptJwe: () => ({ decrypted: false }),
    encryptJwe: async (encryptor, data) => {
      const key = await importJWK(encryptor.publicJwk as never, 'ECDH-ES');
      const jwe = await new CompactEncrypt(new TextEncoder().encode(data))
        .setProtectedHeader({ alg: 'ECDH-ES', enc: encryptor.enc, ...(encryptor.publicJwk.kid ? { kid: encryptor.publicJwk.kid } : {}) })
        .encrypt(key);
      return { encryptionJwk: encryptor.publicJwk, jwe };
    },
    verifyJwt: async (signer, jwt) => {
      if (signer.method !== 'x5c') return { verified: false };
      try {
        const chain = signer.x5c.map((c) => new X509Certificate(Buffer.from(c, 'base64')));
        const at = now();
        const valid = (c: X509Certificate) => new Date(c.validFrom) <= at && at <= new Date(c.validTo);
        for (let i = 0; i < chain.length - 1; i++) {
          if (!chain[i]!.checkIssued(chain[i + 1]!) || !chain[i]!.verify(chain[i + 1]!.publicKey)) return { verified: false };
        }
        const last = chain[chain.length - 1]!;
        const anchored = trustedRoots.some((r) => valid(r) && last.checkIssued(r) && last.verify(r.publicKey));
        if (!anchored || !chain.every(valid)) return { verified: false };
        await compactVerify(jwt.compact, await importX509(chain[0]!.toString(), 'ES256'), { algorithms: ['ES256'] });
        return { verified: true, signerJwk: chain[0]!.publicKey.export({ format: 'jwk' }) as Jwk };
      } catch {
        return { verified: false };
      }
    },
  };
}

export class Holder {
  private readonly client: Openid4vpClient;
  private readonly cb: ReturnType<typeof callbacks>;

  constructor(
    trustedVerifierRoots: X509Certificate[],
    private readonly now: () => Date = () => new Date(),
  ) {
    this.cb = callbacks(trustedVerifierRoots, now);
    this.client = new Openid4vpClient({ callbacks: this.cb });
  }

  /** Fetch and check the request the verifier sent (by reference). Throws RequestRefused. */
  async resolve(params: Record<string, string>): Promise<ResolvedRequest> {
    let resolved: ResolvedOpenid4vpAuthorizationRequest;
    try {
      resolved = await this.client.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: params as never });
    } catch (e) {
      throw new RequestRefused(`the request cannot be used: ${e instanceof Error ? e.message.slice(0, 200) : 'unknown'}`);
    }
    const payload = resolved.authorizationRequestPayload as Record<string, unknown>;
    const clientId = String(payload.client_id ?? '');
    const x5c = resolved.jar?.signer && 'x5c' in resolved.jar.signer ? (resolved.jar.signer.x5c as string[]) : undefined;
    if (!clientId.startsWith('x509_hash:') || !x5c) throw new RequestRefused('the verifier is not identified by a certificate (x509_hash)');
    const hash = createHash('sha256').update(Buffer.from(x5c[0]!, 'base64')).digest('base64url');
    if (clientId !== `x509_hash:${hash}`) throw new RequestRefused('the client_id is not the hash of the verifier certificate');
    if (payload.response_mode !== 'direct_post.jwt' || typeof payload.response_uri !== 'string') throw new RequestRefused('only direct_post.jwt is supported');
    const subject = new X509Certificate(Buffer.from(x5c[0]!, 'base64')).subject;
    const verifierName = /CN=([^\n,]+)/.exec(subject)?.[1] ?? 'Unknown verifier';
    const query = (resolved.dcql?.query ?? {}) as { credentials?: Array<{ claims?: Array<{ path: unknown[] }> }> };
    const claims = (query.credentials?.[0]?.claims ?? []).map((c) => String(c.path[0]));
    return { resolved, clientId, verifierName, nonce: String(payload.nonce), state: typeof payload.state === 'string' ? payload.state : undefined, responseUri: payload.response_uri, claims };
  }

  /** Present the credential with the chosen claims. */
  async present(credential: IssuedCredential, request: ResolvedRequest, disclose: string[], options: { nonce?: string; tamper?: boolean } = {}): Promise<string> {
    const sdjwt = new SDJwtVcInstance({
      hasher: digest,
      hashAlg: 'sha-256',
      saltGenerator: generateSalt,
      kbSigner: await ES256.getSigner(credential.holderKey),
      kbSignAlg: 'ES256',
    });
    const frame = Object.fromEntries(disclose.map((c) => [c, true]));
    const kb = { aud: request.clientId, nonce: options.nonce ?? request.nonce, iat: Math.floor(this.now().getTime() / 1000) };
    const presentation = await sdjwt.present(credential.sdJwt, frame as never, { kb: { payload: kb } });
    if (!options.tamper) return presentation;
    // A holder who edits a disclosed value after issuance, and signs a fresh key binding JWT over
    // the edited presentation (as a dishonest holder with its own device key could).
    const parts = presentation.split('~');
    parts.pop();
    const edited = `${tamperOneDisclosure(parts.join('~') + '~', disclose)}`;
    const sdHash = createHash('sha256').update(edited).digest('base64url');
    const kbJwt = await new SignJWT({ ...kb, sd_hash: sdHash }).setProtectedHeader({ alg: 'ES256', typ: 'kb+jwt' }).sign(await importJWK(credential.holderKey as never, 'ES256'));
    return `${edited}${kbJwt}`;
  }

  /** Encrypt the answer to the request's key and post it (direct_post.jwt). The verifier's JSON answer. */
  async answer(request: ResolvedRequest, vpToken: string): Promise<{ redirect_uri?: string; status: number }> {
    const payload = request.resolved.authorizationRequestPayload as never;
    const response = await this.client.createOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: payload,
      authorizationResponsePayload: { vp_token: { pid: [vpToken] } } as never,
      jarm: {
        encryption: { nonce: randomBytes(16).toString('base64url') },
        serverMetadata: { authorization_signing_alg_values_supported: ['ES256'], authorization_encryption_alg_values_supported: ['ECDH-ES'], authorization_encryption_enc_values_supported: ['A128GCM', 'A256GCM'] },
      },
    });
    const submitted = await this.client.submitOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: payload,
      authorizationResponsePayload: response.authorizationResponsePayload,
      ...(response.jarm ? { jarm: { responseJwt: response.jarm.responseJwt } } : {}),
    });
    return readAnswer(submitted.response);
  }

  /** The person declined: tell the verifier (error=access_denied). */
  async decline(request: ResolvedRequest): Promise<{ redirect_uri?: string; status: number }> {
    const body = new URLSearchParams({ error: 'access_denied', error_description: 'The person declined to share.' });
    if (request.state) body.set('state', request.state);
    const response = await fetch(request.responseUri, { method: 'POST', body, signal: AbortSignal.timeout(10_000) });
    return readAnswer(response);
  }
}

async function readAnswer(response: Response): Promise<{ redirect_uri?: string; status: number }> {
  const text = await response.text();
  let json: { redirect_uri?: unknown } = {};
  try {
    json = JSON.parse(text) as { redirect_uri?: unknown };
  } catch {
    // not JSON: no redirect
  }
  return { status: response.status, ...(typeof json.redirect_uri === 'string' ? { redirect_uri: json.redirect_uri } : {}) };
}

/** A holder who edits a disclosed claim after issuance (the tampered-disclosure switch). */
function tamperOneDisclosure(sdJwt: string, disclose: string[]): string {
  const parts = sdJwt.split('~');
  for (let i = 1; i < parts.length; i++) {
    if (!parts[i]) continue;
    const d = JSON.parse(Buffer.from(parts[i]!, 'base64url').toString('utf8')) as unknown[];
    if (d.length === 3 && disclose.includes(String(d[1]))) {
      d[2] = typeof d[2] === 'string' ? `${d[2]}x` : { tampered: true };
      parts[i] = Buffer.from(JSON.stringify(d)).toString('base64url');
      return parts.join('~');
    }
  }
  return sdJwt;
}
