/** Keep the login transaction in a sealed cookie (AES-256-GCM): nothing to store server-side. */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { LoginTransaction } from './client.js';

export const TRANSACTION_COOKIE = 'broker_login';
/** How long a sign-in may take before the transaction cookie is refused (ms). Default 60 minutes. */
export const TRANSACTION_MAX_AGE_MS = 60 * 60 * 1000;

const keyOf = (secret: string) => {
  if (secret.length < 32) throw new TypeError('the cookie key must be at least 32 characters');
  return createHash('sha256').update(`broker-sdk-transaction\0${secret}`).digest();
};

export function sealTransaction(transaction: LoginTransaction, secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyOf(secret), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(transaction), 'utf8'), cipher.final()]);
  return [iv, body, cipher.getAuthTag()].map((b) => b.toString('base64url')).join('.');
}

/** The transaction, or undefined when the cookie is missing, forged or too old. */
export function unsealTransaction(sealed: string | undefined, secret: string, now = Date.now()): LoginTransaction | undefined {
  if (!sealed) return undefined;
  try {
    const [iv, body, tag] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'));
    if (!iv || !body || !tag) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', keyOf(secret), iv);
    decipher.setAuthTag(tag);
    const tx = JSON.parse(Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')) as LoginTransaction;
    if (now - tx.createdAt > TRANSACTION_MAX_AGE_MS) return undefined;
    return tx;
  } catch {
    return undefined;
  }
}

/** Cookie attributes: HttpOnly, SameSite=Lax (the callback is a top-level redirect), Secure on https. */
export function transactionCookieOptions(redirectUri: string) {
  return { httpOnly: true, sameSite: 'lax' as const, secure: redirectUri.startsWith('https://'), path: '/', maxAge: TRANSACTION_MAX_AGE_MS };
}
