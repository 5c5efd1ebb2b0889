/** Signing keys rotate without downtime: a journey in flight survives, old tokens verify until they expire. */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { initialKeySet, keysOf, rotateKeySet, type KeySet } from '../../broker/src/config/keys.js';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';

describe('signing key rotation', () => {
  let fed: Federation;
  let set: KeySet;
  beforeAll(async () => {
    set = await initialKeySet();
    fed = await startFederation({ redisUrl: inject('redisUrl'), idps: ['civic-id'], signingKeys: keysOf(set) });
  });
  afterAll(() => fed?.close());

  it('publishes the next key before using it, and signs with the current one', async () => {
    const jwks = (await (await fetch(`${fed.issuer}/jwks`)).json()) as { keys: Array<{ kid: string; d?: string }> };
    expect(jwks.keys.map((k) => k.kid)).toEqual([set.current.kid, set.next!.kid]);
    expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);
  });

  it('a journey in flight survives a rotation; a token signed with the old key still verifies until the old key retires', async () => {
    // A finished journey before the rotation: its ID token is signed with the current key.
    const before = new Citizen(fed);
    await before.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    await before.verifyWith('civic-id', 'margaret');
    await before.consent('approve');
    const oldToken = (await before.collect()).idToken;
    expect(decodeProtectedHeader(oldToken).kid).toBe(set.current.kid);

    // A journey in flight: the citizen is on the consent page when the broker restarts with rotated keys.
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    await citizen.verifyWith('civic-id', 'margaret');
    expect((citizen.current as { url: string }).url).toMatch(/\/consent$/);

    const rotated = await rotateKeySet(set, fed.clock.now());
    await fed.restartBroker(0, { signingKeys: keysOf(rotated, fed.clock.now()) });

    await citizen.consent('approve');
    const { idToken } = await citizen.collect(); // the service checks it against the JWKS it already had
    expect(decodeProtectedHeader(idToken).kid).toBe(set.next!.kid);

    const jwks = createRemoteJWKSet(new URL(`${fed.issuer}/jwks`));
    await expect(jwtVerify(oldToken, jwks, { issuer: fed.issuer })).resolves.toBeTruthy();
    const published = (await (await fetch(`${fed.issuer}/jwks`)).json()) as { keys: Array<{ kid: string }> };
    expect(published.keys.map((k) => k.kid)).toEqual([rotated.current.kid, rotated.next!.kid, set.current.kid]);

    // After the retirement time, the old key is no longer published.
    expect(keysOf(rotated, Date.parse(rotated.previous![0]!.retire_after) + 1).map((k) => k.kid)).not.toContain(set.current.kid);
  });
});
