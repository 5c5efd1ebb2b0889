/**
 * Verifying one SD-JWT VC presentation (SD-JWT VC draft / RFC 9901 SD-JWT) against a wallet
 * provider's policy: the issuer's signature (a key in policy, or an x5c chain ending in a root in
 * policy), the key binding JWT (nonce, audience, freshness, sd_hash), every disclosure referenced by
 * the signed payload, validity dates, the accepted `vct`, and the Token Status List status where the
 * credential names one. The SD-JWT and status list work is done by @sd-jwt/sd-jwt-vc and
 * @sd-jwt/jwt-status-list; signatures by jose; certificates by node:crypto.
 */
import { X509Certificate } from 'node:crypto';
import { SDJwtVcInstance, type SdJwtVcPayload } from '@sd-jwt/sd-jwt-vc';
import { digest } from '@sd-jwt/crypto-nodejs';
import { Disclosure } from '@sd-jwt/utils';
import { compactVerify, decodeJwt, decodeProtectedHeader, importJWK, importX509, type JWK } from 'jose';
import { readPemCertificates, type CredentialIssuerPolicy, type Policies, type WalletProviderPolicy } from '@idbroker/policies';

/** Why a presentation was refused (for logs: never personal data). */
export type CredentialProblem =
  | 'malformed'
  | 'unknown_issuer'
  | 'vct_not_accepted'
  | 'issuer_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'key_binding'
  | 'nonce'
  | 'audience'
  | 'stale_key_binding'
  | 'tampered_disclosure'
  | 'revoked'
  | 'status_unavailable'
  | 'status_required'
  | 'no_subject';

export class CredentialRejected extends Error {
  override readonly name = 'CredentialRejected';
  constructor(
    readonly problem: CredentialProblem,
    detail?: string,
  ) {
    super(detail ? `${problem}: ${detail}` : problem);
  }
}

export interface VerifiedCredential {
  issuer: CredentialIssuerPolicy;
  vct: string;
  /** The issuer's subject for the holder (`sub`). */
  subject: string;
  /** Every claim the holder disclosed (and the always-visible ones), without the SD-JWT machinery. */
  claims: Record<string, unknown>;
}

export interface VerifyCredentialOptions {
  policies: Policies;
  wallet: WalletProviderPolicy;
  presentation: string;
  nonce: string;
  /** The verifier's client_id: the key binding JWT's `aud`. */
  audience: string;
  now: Date;
  /** How old a key binding JWT may be (seconds). Default 300. */
  maxKeyBindingAgeSeconds?: number;
  /** Fetch a status list (tests, proxies). Default: fetch with a 5 s timeout. */
  fetchStatusList?: (uri: string) => Promise<string>;
}

const hasher = { hasher: digest, alg: 'sha-256' };
const SKEW_SECONDS = 60;
const STANDARD = new Set(['iss', 'iat', 'nbf', 'exp', 'vct', 'vct#integrity', 'cnf', 'status', 'sub', '_sd_alg', '_sd']);

export async function verifyCredential(options: VerifyCredentialOptions): Promise<VerifiedCredential> {
  const { wallet, presentation, nonce, audience, now } = options;
  const nowSec = Math.floor(now.getTime() / 1000);
  if (typeof presentation !== 'string' || presentation.length > 64_000 || !presentation.includes('~')) {
    throw new CredentialRejected('malformed', 'not an SD-JWT presentation');
  }
  const issuerJwt = presentation.split('~')[0]!;
  let header: Record<string, unknown>;
  let unverified: SdJwtVcPayload;
  try {
    header = decodeProtectedHeader(issuerJwt) as Record<string, unknown>;
    unverified = decodeJwt(issuerJwt) as SdJwtVcPayload;
  } catch {
    throw new CredentialRejected('malformed', 'issuer-signed JWT cannot be read');
  }
  if (header.typ !== 'dc+sd-jwt' && header.typ !== 'vc+sd-jwt') throw new CredentialRejected('malformed', 'typ is not dc+sd-jwt');
  if (header.alg !== 'ES256') throw new CredentialRejected('issuer_signature', 'alg is not ES256');
  const issuer = wallet.credential_issuers.find((ci) => ci.issuer === unverified.iss);
  if (!issuer) throw new CredentialRejected('unknown_issuer');
  if (!issuer.vct.includes(String(unverified.vct))) throw new CredentialRejected('vct_not_accepted');

  const keyFor = (jwtHeader: Record<string, unknown>) => issuerKey(options.policies, issuer, jwtHeader, now);
  // The library asks for a boolean; a reason for the refusal is kept here.
  let problem: CredentialRejected | undefined;
  const verifyWith = async (data: string, sig: string, withKey: (h: Record<string, unknown>) => Promise<CryptoKey>) => {
    try {
      const [h] = data.split('.');
      const key = await withKey(JSON.parse(Buffer.from(h!, 'base64url').toString('utf8')) as Record<string, unknown>);
      await compactVerify(`${data}.${sig}`, key, { algorithms: ['ES256'] });
      return true;
    } catch (e) {
      problem ??= e instanceof CredentialRejected ? e : undefined;
      return false;
    }
  };
  const sdjwt = new SDJwtVcInstance({
    hasher: digest,
    hashAlg: 'sha-256',
    verifier: (data, sig) => verifyWith(data, sig, keyFor),
    statusVerifier: (data, sig) => verifyWith(data, sig, keyFor),
    kbVerifier: async (data, sig, payload) => {
      const cnf = (payload as { cnf?: { jwk?: JWK } }).cnf;
      if (!cnf?.jwk || cnf.jwk.kty !== 'EC' || 'd' in cnf.jwk) return false;
      return verifyWith(data, sig, async () => (await importJWK(cnf.jwk!, 'ES256')) as CryptoKey);
    },
    statusListFetcher: async (uri) => {
      if (!issuer.status_list || !uri.startsWith(issuer.status_list.uri_prefix)) {
        throw (problem = new CredentialRejected('status_unavailable', 'status list outside the issuer policy'));
      }
      try {
        return await (options.fetchStatusList ?? fetchStatusList)(uri);
      } catch (e) {
        throw (problem = new CredentialRejected('status_unavailable', e instanceof Error ? e.message.slice(0, 100) : 'fetch failed'));
      }
    },
    statusValidator: async (status) => {
      // 0 VALID; 1 INVALID (revoked); 2 SUSPENDED; anything else is not acceptable either.
      if (status !== 0) throw (problem = new CredentialRejected('revoked', `status ${status}`));
    },
    loadTypeMetadataFormat: false,
  });
  if (issuer.status_list?.required && !unverified.status) throw new CredentialRejected('status_required');

  let result: Awaited<ReturnType<SDJwtVcInstance['verify']>>;
  try {
    result = await sdjwt.verify(presentation, { keyBindingNonce: nonce, currentDate: nowSec, skewSeconds: SKEW_SECONDS });
  } catch (e) {
    if (problem) throw problem;
    throw classify(e);
  }
  if (problem) throw problem;
  const kb = result.kb?.payload;
  if (!kb) throw new CredentialRejected('key_binding', 'no key binding JWT');
  if (kb.aud !== audience) throw new CredentialRejected('audience');
  const age = nowSec - Number(kb.iat);
  if (!Number.isFinite(age) || age > (options.maxKeyBindingAgeSeconds ?? 300) || age < -SKEW_SECONDS) throw new CredentialRejected('stale_key_binding');
  await assertEveryDisclosureReferenced(presentation, unverified);

  const payload = result.payload as Record<string, unknown>;
  if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw new CredentialRejected('no_subject');
  const claims: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(payload)) if (!STANDARD.has(k)) claims[k] = v;
  return { issuer, vct: String(payload.vct), subject: payload.sub, claims };
}

function classify(e: unknown): CredentialRejected {
  const message = e instanceof Error ? e.message : String(e);
  if (/nonce/i.test(message)) return new CredentialRejected('nonce');
  if (/expired|exp\b/i.test(message)) return new CredentialRejected('expired');
  if (/nbf|not yet|iat/i.test(message)) return new CredentialRejected('not_yet_valid', message.slice(0, 100));
  if (/sd_hash|key binding/i.test(message)) return new CredentialRejected('key_binding', message.slice(0, 100));
  if (/disclosure|digest/i.test(message)) return new CredentialRejected('tampered_disclosure', message.slice(0, 100));
  if (/signature|verif/i.test(message)) return new CredentialRejected('issuer_signature', message.slice(0, 100));
  return new CredentialRejected('malformed', message.slice(0, 100));
}

/**
 * A disclosure the signed payload does not reference is dropped silently by SD-JWT processing; a
 * presentation carrying one was altered after issuance (or padded), so it is refused outright.
 */
async function assertEveryDisclosureReferenced(presentation: string, payload: SdJwtVcPayload): Promise<void> {
  const parts = presentation.split('~').slice(1, -1).filter((p) => p.length > 0);
  const disclosures = await Promise.all(
    parts.map(async (p) => {
      try {
        return await Disclosure.fromEncode(p, hasher);
      } catch {
        throw new CredentialRejected('tampered_disclosure', 'a disclosure cannot be read');
      }
    }),
  );
  const referenced = new Set<string>();
  const collect = (value: unknown) => {
    if (Array.isArray(value)) {
      for (const item of value) {
        if (item && typeof item === 'object' && !Array.isArray(item) && typeof (item as Record<string, unknown>)['...'] === 'string') referenced.add((item as Record<string, string>)['...']!);
        collect(item);
      }
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (k === '_sd' && Array.isArray(v)) v.forEach((d) => typeof d === 'string' && referenced.add(d));
        else collect(v);
      }
    }
  };
  collect(payload);
  for (const d of disclosures) collect(d.value);
  for (const d of disclosures) {
    const digestOf = d._digest ?? (await d.digest(hasher));
    if (!referenced.has(digestOf)) throw new CredentialRejected('tampered_disclosure', 'a disclosure is not in the signed credential');
  }
}

async function issuerKey(policies: Policies, issuer: CredentialIssuerPolicy, header: Record<string, unknown>, now: Date): Promise<CryptoKey> {
  if (issuer.x5c_roots) {
    const x5c = header.x5c;
    if (!Array.isArray(x5c) || x5c.length === 0 || x5c.length > 5 || !x5c.every((c) => typeof c === 'string')) {
      throw new CredentialRejected('issuer_signature', 'no x5c chain');
    }
    const chain = (x5c as string[]).map((c) => new X509Certificate(Buffer.from(c, 'base64')));
    const roots = issuer.x5c_roots.flatMap((file) => readPemCertificates(policies.readFile(file)));
    checkChain(chain, roots, now);
    return (await importX509(chain[0]!.toString(), 'ES256')) as CryptoKey;
  }
  const jwks = issuer.jwks ?? (JSON.parse(policies.readFile(issuer.jwks_file!)) as { keys?: JWK[] } & JWK);
  const keys: JWK[] = Array.isArray(jwks.keys) ? (jwks.keys as JWK[]) : [jwks as JWK];
  const kid = header.kid;
  const candidates = keys.filter((k) => k.kty === 'EC' && (kid === undefined || k.kid === kid));
  if (candidates.length !== 1) throw new CredentialRejected('issuer_signature', 'no single issuer key for this kid');
  return (await importJWK(candidates[0]!, 'ES256')) as CryptoKey;
}

/** Each certificate signed by the next, the last by (or equal to) a root in policy; all valid now. */
function checkChain(chain: X509Certificate[], roots: X509Certificate[], now: Date): void {
  const valid = (c: X509Certificate) => new Date(c.validFrom) <= now && now <= new Date(c.validTo);
  for (let i = 0; i < chain.length; i++) {
    const cert = chain[i]!;
    if (!valid(cert)) throw new CredentialRejected('issuer_signature', 'a certificate in x5c is outside its validity');
    if (i > 0 && !chain[i]!.ca) throw new CredentialRejected('issuer_signature', 'an intermediate in x5c is not a CA');
    const next = chain[i + 1];
    if (next) {
      if (!cert.checkIssued(next) || !cert.verify(next.publicKey)) throw new CredentialRejected('issuer_signature', 'x5c is not a chain');
    }
  }
  const last = chain[chain.length - 1]!;
  const anchored = roots.some((root) => valid(root) && (last.fingerprint256 === root.fingerprint256 || (last.checkIssued(root) && last.verify(root.publicKey))));
  if (!anchored) throw new CredentialRejected('issuer_signature', 'x5c does not end in a trusted root');
}

async function fetchStatusList(uri: string): Promise<string> {
  const response = await fetch(uri, { signal: AbortSignal.timeout(5_000), redirect: 'error', headers: { accept: 'application/statuslist+jwt' } });
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new Error(`status list HTTP ${response.status}`);
  }
  const text = await response.text();
  if (text.length > 1_000_000) throw new Error('status list too large');
  return text.trim();
}
