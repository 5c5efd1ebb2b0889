/**
 * Sealing records at rest (journey state holding verified attributes, case contact details):
 * AES-256-GCM, a random 96-bit IV per seal, and the record's store key as additional
 * authenticated data, so a sealed value opens only under the key it was sealed for
 * (a journey cannot be swapped for another, a case's contact details cannot be moved).
 *
 * Format (compact, versioned): `v1.<iv>.<ciphertext>.<tag>`, each part base64url.
 * The value is JSON: anything JSON.stringify accepts (Dates become strings).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export class SealError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SealError';
  }
}

export interface Sealer {
  seal(value: unknown, aad: string): string;
  open<T>(sealed: string, aad: string): T;
}

export interface SealerOptions {
  /** Keys sealed with before a rotation: `open` also tries these; `seal` always uses the current key. */
  previousKeys?: Uint8Array[];
}

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const B64URL = /^[A-Za-z0-9_-]*$/;

function checkKey(key: Uint8Array): Buffer {
  if (!(key instanceof Uint8Array) || key.byteLength !== 32) {
    throw new SealError('sealing key must be 32 bytes (use deriveKey)');
  }
  return Buffer.from(key);
}

/** The AAD also names the format version, so a future format cannot be confused with this one. */
function aadBytes(aad: string): Buffer {
  if (typeof aad !== 'string' || aad.length === 0) throw new SealError('seal: aad (the record key) is required');
  return Buffer.from(`idb-seal:${VERSION}:${aad}`, 'utf8');
}

export function createSealer(key: Uint8Array, options: SealerOptions = {}): Sealer {
  const current = checkKey(key);
  const all = [current, ...(options.previousKeys ?? []).map(checkKey)];

  function decrypt(k: Buffer, iv: Buffer, ciphertext: Buffer, tag: Buffer, aad: Buffer): string | undefined {
    try {
      const decipher = createDecipheriv('aes-256-gcm', k, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }

  return {
    seal(value, aad) {
      const json = JSON.stringify(value);
      if (json === undefined) throw new SealError('seal: value is not representable as JSON');
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', current, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aadBytes(aad));
      const ciphertext = Buffer.concat([cipher.update(json, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [VERSION, iv.toString('base64url'), ciphertext.toString('base64url'), tag.toString('base64url')].join('.');
    },
    open<T>(sealed: string, aad: string): T {
      const parts = typeof sealed === 'string' ? sealed.split('.') : [];
      if (parts.length !== 4 || parts[0] !== VERSION || !parts.slice(1).every((p) => B64URL.test(p))) {
        throw new SealError('sealed value has an unknown format');
      }
      const iv = Buffer.from(parts[1]!, 'base64url');
      const ciphertext = Buffer.from(parts[2]!, 'base64url');
      const tag = Buffer.from(parts[3]!, 'base64url');
      if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SealError('sealed value has an unknown format');
      const additional = aadBytes(aad);
      for (const k of all) {
        const json = decrypt(k, iv, ciphertext, tag, additional);
        if (json !== undefined) return JSON.parse(json) as T;
      }
      // One message for every failure: no oracle telling a wrong key from a tampered value.
      throw new SealError('sealed value could not be opened (tampered, wrong key or wrong record)');
    },
  };
}

const HKDF_SALT = 'idbroker/hkdf/v1';

/**
 * A 32-byte key for one purpose (e.g. 'journey-state', 'case-contact') from one configured
 * secret, with HKDF-SHA-256. Different purposes give independent keys.
 */
export function deriveKey(secret: string, purpose: string): Uint8Array {
  if (typeof secret !== 'string' || secret.length < 32) {
    throw new SealError('deriveKey: the secret must be at least 32 characters (for example 32 random bytes, base64)');
  }
  if (typeof purpose !== 'string' || purpose.length === 0) throw new SealError('deriveKey: purpose is required');
  return new Uint8Array(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.from(HKDF_SALT), Buffer.from(purpose, 'utf8'), 32));
}
