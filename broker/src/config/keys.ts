/**
 * The broker's signing keys, rotated without downtime:
 *
 *   { "current": JWK, "next": JWK, "previous": [{ "key": JWK, "retire_after": ISO date }] }
 *
 * Every key is published in the JWKS (current first: oidc-provider signs with the first), so
 * services fetch the next key before it signs anything, and keep verifying with a previous
 * key until tokens signed with it have expired. `rotate` makes next current, makes a new
 * next, and keeps the old current until `retire_after`.
 */
import { exportJWK, generateKeyPair } from 'jose';

export interface KeySet {
  current: Record<string, unknown>;
  next?: Record<string, unknown> | null;
  previous?: Array<{ key: Record<string, unknown>; retire_after: string }>;
}

/** How long a retired key stays published: longer than any token signed with it lives (ID and access tokens: 10 minutes). */
export const RETIRE_AFTER_MS = 60 * 60 * 1000;

export function isKeySet(value: unknown): value is KeySet {
  return typeof value === 'object' && value !== null && 'current' in value && typeof (value as KeySet).current === 'object';
}

/** Keys in publishing order: current (signs), next, then previous ones not yet retired. */
export function keysOf(set: KeySet, now = Date.now()): Record<string, unknown>[] {
  const previous = (set.previous ?? []).filter((p) => new Date(p.retire_after).getTime() > now).map((p) => p.key);
  return [set.current, ...(set.next ? [set.next] : []), ...previous];
}

export async function generateSigningKey(kid: string): Promise<Record<string, unknown>> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
}

const newKid = (now: number) => `broker-${new Date(now).toISOString().replace(/[-:]/g, '').slice(0, 15)}-${Math.random().toString(36).slice(2, 6)}`;

export async function initialKeySet(now = Date.now()): Promise<KeySet> {
  return { current: await generateSigningKey(newKid(now)), next: await generateSigningKey(newKid(now + 1)), previous: [] };
}

/** Next becomes current; a new next; the old current is kept until its tokens have expired; retired keys dropped. */
export async function rotateKeySet(set: KeySet, now = Date.now(), retireAfterMs = RETIRE_AFTER_MS): Promise<KeySet> {
  if (!set.next) throw new Error('the key set has no next key to rotate to: publish one first');
  return {
    current: set.next,
    next: await generateSigningKey(newKid(now)),
    previous: [{ key: set.current, retire_after: new Date(now + retireAfterMs).toISOString() }, ...(set.previous ?? []).filter((p) => new Date(p.retire_after).getTime() > now)],
  };
}
