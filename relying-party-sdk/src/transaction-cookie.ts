/**
 * Keep the login transaction in a sealed cookie (AES-256-GCM, key derived from your secret):
 * nothing to store server-side, and the browser can neither read nor change it.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { LoginTransaction } from './client.js';

/**
 * Default name of the transaction cookies. Each sign-in has a cookie of its own,
 * `broker_login.<id of its state>` (see {@link transactionCookieName}), so parallel sign-ins in
 * one browser (two tabs) do not overwrite each other.
 */
export const TRANSACTION_COOKIE = 'broker_login';
/** At most this many sign-ins are kept in flight per browser; starting another drops the oldest. */
export const MAX_PARALLEL_LOGINS = 6;
/** How long, after a callback, going Back to it or refreshing it leads to the same page again (ms). 30 minutes. */
export const FINISHED_MARKER_MAX_AGE_MS = 30 * 60 * 1000;

/** The cookie that holds the sign-in with this `state`: `<base>.<22 characters derived from the state>`. */
export function transactionCookieName(state: string, base: string = TRANSACTION_COOKIE): string {
  return `${base}.${createHash('sha256').update(`state\0${state}`).digest('base64url').slice(0, 22)}`;
}

/** Every `name=value` of a `Cookie` header whose name is `<base>.<id>`. */
export function transactionCookies(header: string | undefined, base: string = TRANSACTION_COOKIE): Array<{ name: string; value: string }> {
  const out: Array<{ name: string; value: string }> = [];
  for (const part of String(header ?? '').split(';')) {
    const i = part.indexOf('=');
    const name = i > 0 ? part.slice(0, i).trim() : '';
    if (name.startsWith(`${base}.`)) out.push({ name, value: part.slice(i + 1).trim() });
  }
  return out;
}
/** How long a sign-in may take before the transaction cookie is refused (ms). 60 minutes. */
export const TRANSACTION_MAX_AGE_MS = 60 * 60 * 1000;

const AAD = Buffer.from('idbroker-rp-sdk/transaction/v1');

const keyOf = (secret: string) => {
  if (typeof secret !== 'string' || secret.length < 32) throw new TypeError('the cookie key must be a secret of at least 32 characters');
  return createHash('sha256').update(`broker-sdk-transaction\0${secret}`).digest();
};

function seal(value: object, secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyOf(secret), iv);
  cipher.setAAD(AAD);
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return [iv, body, cipher.getAuthTag()].map((b) => b.toString('base64url')).join('.');
}

function unseal(sealed: string | undefined, secret: string): Record<string, unknown> | undefined {
  const key = keyOf(secret);
  if (!sealed) return undefined;
  try {
    const [iv, body, tag, extra] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'));
    if (!iv || !body || !tag || extra || iv.length !== 12 || tag.length !== 16) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(AAD);
    decipher.setAuthTag(tag);
    const value = JSON.parse(Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Seal a transaction for a cookie. `secret`: at least 32 random characters, kept on the server. */
export function sealTransaction(transaction: LoginTransaction, secret: string): string {
  return seal(transaction, secret);
}

/** The transaction, or `undefined` when the cookie is missing, forged, sealed with another key, or older than {@link TRANSACTION_MAX_AGE_MS}. */
export function unsealTransaction(sealed: string | undefined, secret: string, now = Date.now()): LoginTransaction | undefined {
  const tx = unseal(sealed, secret) as LoginTransaction | undefined;
  if (!tx || typeof tx.state !== 'string' || 'finished' in tx) return undefined;
  if (typeof tx.createdAt !== 'number' || now - tx.createdAt > TRANSACTION_MAX_AGE_MS || tx.createdAt - now > 60_000) return undefined;
  return tx;
}

/** What a sign-in's cookie holds once its callback has been answered: where the browser was sent, so Back and refresh go there again. */
export interface FinishedLogin {
  state: string;
  /** Where the callback redirected (a path of your service). */
  finished: string;
  createdAt: number;
}

/** Seal a {@link FinishedLogin} marker. */
export function sealFinished(marker: FinishedLogin, secret: string): string {
  return seal(marker, secret);
}

/** The marker, or `undefined` (missing, forged, another key, a transaction rather than a marker, or older than {@link FINISHED_MARKER_MAX_AGE_MS}). */
export function unsealFinished(sealed: string | undefined, secret: string, now = Date.now()): FinishedLogin | undefined {
  const m = unseal(sealed, secret) as Partial<FinishedLogin> | undefined;
  if (!m || typeof m.state !== 'string' || typeof m.finished !== 'string' || typeof m.createdAt !== 'number') return undefined;
  if (now - m.createdAt > FINISHED_MARKER_MAX_AGE_MS || m.createdAt - now > 60_000) return undefined;
  return m as FinishedLogin;
}

/** When a sealed cookie of this SDK was made (for dropping the oldest), or 0 when it cannot be read. */
export function sealedCreatedAt(sealed: string, secret: string): number {
  const v = unseal(sealed, secret);
  return typeof v?.createdAt === 'number' ? v.createdAt : 0;
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
