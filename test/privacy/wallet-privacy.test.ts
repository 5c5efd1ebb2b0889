/**
 * Privacy with a wallet (issue 18): the service's view is the same whether the person used a
 * wallet or an IdP; nothing of the presentation stays in the store once the journey is over; the
 * wallet's request names the broker, never the service.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { decodeJwt } from 'jose';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';
import { SECOND_SERVICE } from '../support/policies.js';
import { chooseWallet, presentWithWallet, WALLET_ID } from '../support/wallet-driver.js';

const ATTRIBUTES = ['given_name', 'family_name', 'birthdate', 'address'];
const MARGARET = ['Margaret', 'Okafor', '1958-03-14', 'Station Road', 'EX1 2AB'];

describe('privacy with a wallet (Redis store)', () => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation({ redisUrl: inject('redisUrl'), idps: ['civic-id'], policyChanges: { extraRps: { 'example-voter-registration': SECOND_SERVICE } } });
  });
  afterAll(() => fed?.close());

  async function journey(via: 'idp' | 'wallet') {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'], attributes: ATTRIBUTES });
    if (via === 'idp') await citizen.verifyWith('civic-id', 'margaret');
    else await presentWithWallet(citizen, { person: 'margaret' });
    expect(citizen.current.kind).toBe('page');
    await citizen.consent('approve');
    return citizen.collect();
  }

  it("the service's view is identical whether a wallet or an IdP was used (apart from the subject and per-token values)", async () => {
    const byIdp = await journey('idp');
    const byWallet = await journey('wallet');
    const shape = (c: Record<string, unknown>) => Object.keys(c).sort();
    expect(shape(byWallet.claims)).toEqual(shape(byIdp.claims));
    expect(shape(byWallet.userinfo)).toEqual(shape(byIdp.userinfo));
    for (const name of ['iss', 'aud', 'vot', 'vtm', 'verified_claims', 'acr'] as const) expect(byWallet.claims[name]).toEqual(byIdp.claims[name]);
    expect(byWallet.userinfo.verified_claims).toEqual(byIdp.userinfo.verified_claims);
    // The token header and its claim names say nothing of the route either.
    const walletToken = decodeJwt(byWallet.idToken);
    expect(JSON.stringify(walletToken)).not.toMatch(/wallet|x509|pid-issuer|sd-jwt|openid4vp/i);
  });

  it('nothing of the presentation (nor the request) is left in the store after the journey', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'], attributes: ATTRIBUTES });
    const { sameDevice } = await chooseWallet(citizen);
    const state = new URL(sameDevice.searchParams.get('request_uri')!).pathname.split('/')[3]!;
    // While the request is open, only its request object is stored (under its state).
    const during: string[] = [];
    for await (const { key } of fed.brokers[0]!.store.dump()) during.push(key);
    expect(during.some((k) => k.includes(`wallet-request:{${state}}`))).toBe(true);

    const { answerInWallet } = await import('../support/wallet-driver.js');
    await answerInWallet(citizen, sameDevice, { person: 'margaret' });
    await citizen.consent('approve');
    await citizen.collect();
    const presentation = fed.wallets[WALLET_ID]!.lastPresentation!;
    const pieces = presentation.split('~').filter((p) => p.length > 20);
    const after: Array<{ key: string; value: string }> = [];
    for await (const e of fed.brokers[0]!.store.dump()) after.push(e);
    for (const { key, value } of after) {
      expect(key).not.toContain(state);
      for (const kind of ["journey:{", "wallet-request:{", "delivery:{"]) expect(key).not.toContain(kind);
      for (const piece of pieces) expect(value).not.toContain(piece);
      for (const v of MARGARET) expect(value).not.toContain(v);
    }
    const logs = fed.logs.join('\n');
    for (const piece of pieces) expect(logs).not.toContain(piece);
    for (const v of MARGARET) expect(logs).not.toContain(v);
  });

  it('two services produce wallet requests that differ only in their per-request values', async () => {
    const requestOf = async (clientId: string, redirectUri: string) => {
      const citizen = new Citizen(fed);
      await citizen.start(await fed.service(clientId, redirectUri), { vtr: ['Cl.Cm.P2'], attributes: ATTRIBUTES });
      const { sameDevice } = await chooseWallet(citizen);
      const jar = await (await fetch(sameDevice.searchParams.get('request_uri')!)).text();
      const payload = decodeJwt(jar) as Record<string, any>;
      const { nonce, state, response_uri, client_metadata, iat, exp, aud, ...rest } = payload;
      expect([nonce, state, response_uri, iat, exp, aud].every((v) => v !== undefined)).toBe(true);
      return { rest, keys: Object.keys(client_metadata), url: sameDevice.origin + sameDevice.pathname, clientId: sameDevice.searchParams.get('client_id') };
    };
    const a = await requestOf('example-council-tax', 'http://localhost:3200/callback');
    const b = await requestOf(SECOND_SERVICE.client_id, SECOND_SERVICE.redirect_uris[0]!);
    expect(b).toEqual(a);
  });
});
