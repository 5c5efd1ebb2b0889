/**
 * A software WebAuthn authenticator for tests: ES256 keys, 'none' attestation, the
 * user-present and user-verified flags, and a signature counter. It answers the options
 * made by @simplewebauthn/server (generateRegistrationOptions / generateAuthenticationOptions)
 * with the JSON a browser's navigator.credentials would give (via @simplewebauthn/browser).
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

export interface SoftCredential {
  /** base64url credential id */
  id: string;
  rpId: string;
  /** base64url user handle */
  userHandle: string;
  privateKey: KeyObject;
  counter: number;
}

type Json = Record<string, unknown>;

const b64u = (b: Uint8Array | Buffer | string) => Buffer.from(b).toString('base64url');
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest();

// ---- a tiny CBOR encoder (enough for attestation objects and COSE keys) ----
function head(major: number, n: number): Buffer {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 256) return Buffer.from([(major << 5) | 24, n]);
  if (n < 65536) {
    const b = Buffer.alloc(3);
    b[0] = (major << 5) | 25;
    b.writeUInt16BE(n, 1);
    return b;
  }
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(n, 1);
  return b;
}

type Cbor = number | string | Uint8Array | Map<Cbor, Cbor> | { [k: string]: Cbor };

export function cborEncode(value: Cbor): Buffer {
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string') {
    const s = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, s.length), s]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), Buffer.from(value)]);
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  return Buffer.concat([head(5, entries.length), ...entries.flatMap(([k, v]) => [cborEncode(k), cborEncode(v)])]);
}

export interface SoftwareAuthenticatorOptions {
  /** Set the user-verified flag (default true). */
  userVerified?: boolean;
  /** Set the user-present flag (default true). */
  userPresent?: boolean;
}

export class SoftwareAuthenticator {
  readonly credentials: SoftCredential[] = [];
  userVerified: boolean;
  userPresent: boolean;

  constructor(options: SoftwareAuthenticatorOptions = {}) {
    this.userVerified = options.userVerified ?? true;
    this.userPresent = options.userPresent ?? true;
  }

  private flags(attested: boolean): number {
    return (this.userPresent ? 0x01 : 0) | (this.userVerified ? 0x04 : 0) | (attested ? 0x40 : 0);
  }

  /**
   * Answer registration options (PublicKeyCredentialCreationOptionsJSON) as a browser at
   * `origin` would. Returns RegistrationResponseJSON.
   */
  register(optionsJSON: Json, origin: string): Json {
    const rp = (optionsJSON.rp ?? {}) as { id?: string };
    const user = (optionsJSON.user ?? {}) as { id?: string };
    const rpId = rp.id ?? new URL(origin).hostname;
    const algs = ((optionsJSON.pubKeyCredParams ?? []) as { alg: number }[]).map((p) => p.alg);
    if (algs.length && !algs.includes(-7)) throw new Error('the relying party does not accept ES256');
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const credId = randomBytes(16);
    const cose = new Map<Cbor, Cbor>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, Buffer.from(jwk.x!, 'base64url')],
      [-3, Buffer.from(jwk.y!, 'base64url')],
    ]);
    const counter = 0;
    const countBuf = Buffer.alloc(4);
    countBuf.writeUInt32BE(counter);
    const credLen = Buffer.alloc(2);
    credLen.writeUInt16BE(credId.length);
    const authData = Buffer.concat([sha256(rpId), Buffer.from([this.flags(true)]), countBuf, Buffer.alloc(16), credLen, credId, cborEncode(cose)]);
    const clientDataJSON = JSON.stringify({ type: 'webauthn.create', challenge: optionsJSON.challenge, origin, crossOrigin: false });
    const attestationObject = cborEncode({ fmt: 'none', attStmt: new Map(), authData });
    const id = b64u(credId);
    this.credentials.push({ id, rpId, userHandle: user.id ?? '', privateKey, counter });
    return {
      id,
      rawId: id,
      type: 'public-key',
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64u(clientDataJSON),
        attestationObject: b64u(attestationObject),
        transports: ['internal'],
        publicKeyAlgorithm: -7,
        authenticatorData: b64u(authData),
      },
    };
  }

  /**
   * Answer authentication options (PublicKeyCredentialRequestOptionsJSON) as a browser at
   * `origin` would, with a credential this authenticator holds for the rpId (one of
   * allowCredentials when given). Returns AuthenticationResponseJSON.
   * `credential` forces the use of a given credential (even one the options do not allow).
   */
  authenticate(optionsJSON: Json, origin: string, credential?: SoftCredential): Json {
    const rpId = (optionsJSON.rpId as string | undefined) ?? new URL(origin).hostname;
    const allowed = ((optionsJSON.allowCredentials ?? []) as { id: string }[]).map((c) => c.id);
    const cred =
      credential ??
      this.credentials.find((c) => c.rpId === rpId && (allowed.length === 0 || allowed.includes(c.id)));
    if (!cred) throw new Error(`no credential for ${rpId}`);
    cred.counter += 1;
    const countBuf = Buffer.alloc(4);
    countBuf.writeUInt32BE(cred.counter);
    const authData = Buffer.concat([sha256(rpId), Buffer.from([this.flags(false)]), countBuf]);
    const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: optionsJSON.challenge, origin, crossOrigin: false }));
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), cred.privateKey);
    return {
      id: cred.id,
      rawId: cred.id,
      type: 'public-key',
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64u(clientDataJSON),
        authenticatorData: b64u(authData),
        signature: b64u(signature),
        userHandle: cred.userHandle || undefined,
      },
    };
  }
}
