/**
 * Keep the login transaction in a sealed cookie (AES-256-GCM, key derived from your secret):
 * nothing to store server-side, and the browser can neither read nor change it.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { LoginTransaction } from './client.js';

/** Default name of the transaction cookie. */
export const TRANSACTION_COOKIE = 'broker_login';
/** How long a sign-in may take before the transaction cookie is refused (ms). 60 minutes. */
export const TRANSACTION_MAX_AGE_MS = 60 * 60 * 1000;

const AAD = Buffer.from('idbroker-rp-sdk/transaction/v1');

const keyOf = (secret: string) => {
  if (typeof secret !== 'string' || secret.length < 32) throw new TypeError('the cookie key must be a secret of at least 32 characters');
  return createHash('sha256').update(`broker-sdk-transaction\0${secret}`).digest();
};

/** Seal a transaction for a cookie. `secret`: at least 32 random characters, kept on the server. */
export function sealTransaction(transaction: LoginTransaction, secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyOf(secret), iv);
  cipher.setAAD(AAD);
  const body = Buffer.concat([cipher.update(JSON.stringify(transaction), 'utf8'), cipher.final()]);
  return [iv, body, cipher.getAuthTag()].map((b) => b.toString('base64url')).join('.');
}

/** The transaction, or `undefined` when the cookie is missing, forged, sealed with another key, or older than {@link TRANSACTION_MAX_AGE_MS}. */
export function unsealTransaction(sealed: string | undefined, secret: string, now = Date.now()): LoginTransaction | undefined {
  const key = keyOf(secret);
  if (!sealed) return undefined;
  try {
    const [iv, body, tag, extra] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'));
    if (!iv || !body || !tag || extra || iv.length !== 12 || tag.length !== 16) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(AAD);
    decipher.setAuthTag(tag);
    const tx = JSON.parse(Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')) as LoginTransaction;
    if (typeof tx.createdAt !== 'number' || now - tx.createdAt > TRANSACTION_MAX_AGE_MS || tx.createdAt - now > 60_000) return undefined;
    return tx;
  } catch {
    return undefined;
  }
}

/** Cookie attributes used by the helpers: HttpOnly, SameSite=Lax (the callback is a top-level redirect), Secure when the redirect URI is https, Path=/. */
export interface TransactionCookieOptions {
  name: string;
  secure: boolean;
  maxAgeSeconds: number;
}

/** The `Set-Cookie` header value that stores (or, with `value` undefined, deletes) the transaction cookie. */
export function transactionCookieHeader(value: string | undefined, options: TransactionCookieOptions): string {
  return [
    `${options.name}=${value ?? ''}`,
    'Path=/',
    `Max-Age=${value === undefined ? 0 : options.maxAgeSeconds}`,
    'HttpOnly',
    'SameSite=Lax',
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}

/** Read one cookie from a `Cookie` request header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of String(header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}
