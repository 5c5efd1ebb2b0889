/**
 * Whole journeys with a wallet instead of an IdP (issue 18): the broker as an OpenID4VP 1.0
 * verifier, the wallet stub holding SD-JWT VC PIDs, consent and matching as with any provider,
 * and every failure ending on a way forward and in the audit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';
import { freePort } from '../support/matching-service.js';
import { answerInWallet, chooseWallet, presentWithWallet, WALLET_ID } from '../support/wallet-driver.js';
import { startExampleService } from '../../relying-party-sdk/examples/council-tax/app.js';

const ATTRIBUTES = ['given_name', 'family_name', 'birthdate', 'address'];

describe('a journey with a wallet (OpenID4VP 1.0, SD-JWT VC)', () => {
  let fed: Federation;
  let closeService: () => Promise<unknown>;
  beforeAll(async () => {
    const port = await freePort();
    fed = await startFederation({
      idps: ['civic-id'],
      policyChanges: {
        rps: { 'example-council-tax': { matching: { url: `http://127.0.0.1:${port}/matching`, timeout_ms: 2000, extra_attribute: 'ni_number', account_creation: false } } },
      },
    });
    const service = await startExampleService({ port, host: '127.0.0.1', brokerIssuer: fed.issuer, baseUrl: `http://127.0.0.1:${port}` });
    closeService = () => service.close();
  });
  afterAll(async () => {
    await closeService?.();
    await fed?.close();
  });
  const wallet = () => fed.wallets[WALLET_ID]!;
  /** The journey's audit trail, from the reference its failure page shows. */
  const auditOf = async (html: string) => {
    const ref = /[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]/.exec(html)?.[0];
    expect(ref).toBeDefined();
    return fed.brokers[0]!.audit.list({ journey: ref! });
  };

  it('the picker offers the wallet beside the IdPs', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'], attributes: ATTRIBUTES });
    expect(citizen.html).toContain(`value="${WALLET_ID}"`);
    expect(citizen.html).toContain('value="civic-id"');
  });

  it('margaret-by-wallet: DCQL for exactly the journey attributes, selective disclosure, consent, matched at the level asked for', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'], attributes: ATTRIBUTES });
    const { sameDevice } = await chooseWallet(citizen);
    // The page offers the same-device link and a QR code (an image, no script needed).
    expect(citizen.html).toMatch(/<img id="wallet-qr" src="data:image\/svg\+xml;base64,/);
    expect(sameDevice.searchParams.get('client_id')).toMatch(/^x509_hash:[A-Za-z0-9_-]{43}$/);
    const requestUri = new URL(sameDevice.searchParams.get('request_uri')!);
    expect(requestUri.pathname).toMatch(/^\/wallet\/request\/[A-Za-z0-9_-]+\/same$/);

    // The signed request object: x509_hash, direct_post.jwt, an encryption key, DCQL for the three claims.
    const jar = await (await fetch(requestUri)).text();
    const [h, p] = jar.split('.');
    const header = JSON.parse(Buffer.from(h!, 'base64url').toString()) as Record<string, unknown>;
    const request = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, any>;
    expect(header).toMatchObject({ alg: 'ES256', typ: 'oauth-authz-req+jwt' });
    expect(Array.isArray(header.x5c)).toBe(true);
    expect(request).toMatchObject({ response_type: 'vp_token', response_mode: 'direct_post.jwt', client_id: sameDevice.searchParams.get('client_id') });
    expect(request.client_metadata.jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', use: 'enc', alg: 'ECDH-ES' });
    expect(request.client_metadata.jwks.keys[0].d).toBeUndefined();
    expect(request.dcql_query.credentials[0]).toMatchObject({ id: 'pid', format: 'dc+sd-jwt', meta: { vct_values: ['urn:eudi:pid:1'] } });
    expect(request.dcql_query.credentials[0].claims.map((c: { path: string[] }) => c.path[0])).toEqual(ATTRIBUTES);
    expect(typeof request.nonce).toBe('string');
    // Nothing in it names the service.
    expect(jar).not.toMatch(/council|example-council-tax|localhost:3200/i);
    expect(JSON.stringify(request)).not.toContain('council');

    const consent = await answerInWallet(citizen, sameDevice, { person: 'margaret' });
    expect(consent).toMatchObject({ kind: 'page', status: 200 });
    expect(citizen.html).toContain('Margaret');
    expect(citizen.html).toContain('14 March 1958');
    const back = await citizen.consent('approve');
    expect(back.kind).toBe('service');
    const { claims } = await citizen.collect();
    expect(claims.vot).toBe('Cl.Cm.P2');
    expect(claims.match).toEqual({ result: 'matched', account_ref: 'CT-100234' });
    const verified = claims.verified_claims as { verification: Record<string, unknown>; claims: Record<string, unknown> };
    expect(verified.verification).toEqual({ trust_framework: 'uk_diatf', assurance_level: 'medium' });
    expect(verified.claims).toMatchObject({ given_name: 'Margaret', family_name: 'Okafor', birthdate: '1958-03-14', address: { postal_code: 'EX1 2AB' } });
    expect(Object.keys(verified.claims).sort()).toEqual([...ATTRIBUTES].sort());
    expect(JSON.stringify(claims)).not.toMatch(/wallet|pid|x509|digital/i);
  });

  it('selective disclosure: only the federation\'s standard attributes leave the wallet (the same for every service), and only what the service asked for reaches consent', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'], attributes: ['given_name', 'birthdate'] });
    await presentWithWallet(citizen, { person: 'margaret' });
    expect(citizen.html).toContain('Margaret');
    expect(citizen.html).not.toContain('Okafor');
    // The presentation carried the standard request's disclosures (docs/adr/0004: what a wallet is
    // asked cannot tell it the service), nothing else of the PID (no nationalities); the broker kept
    // only what this service asked for.
    const disclosed = wallet().lastPresentation!.split('~').slice(1, -1).map((d) => JSON.parse(Buffer.from(d, 'base64url').toString())[1]);
    expect(disclosed.sort()).toEqual([...fed.policies.load().broker.identity_provider_request.attributes].sort());
    expect(disclosed).not.toContain('nationalities');
  });

  it.each([
    ['revoked', 'a revoked credential (Token Status List)'],
    ['expired', 'an expired credential'],
    ['wrong-nonce', 'a key binding JWT over another nonce'],
    ['tampered', 'a tampered disclosure'],
  ] as const)('%s: %s ends on a way forward, audited, nothing released', async (mode, what) => {
    expect(what).toBeTruthy();
    const expected = { revoked: /credential refused: revoked/, expired: /credential refused: expired/, 'wrong-nonce': /credential refused: nonce/, tampered: /credential refused: tampered_disclosure/ }[mode];
    const logsBefore = fed.logs.length;
    wallet().switches.fail = mode;
    try {
      const citizen = new Citizen(fed);
      await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'], attributes: ATTRIBUTES });
      const failure = await presentWithWallet(citizen, { person: 'margaret' });
      expect(failure).toMatchObject({ kind: 'page', status: 200 });
      expect((failure as { url: string }).url).toMatch(/\/failure$/);
      expect(citizen.html).toContain('action="/journey/');
      expect(citizen.html).toMatch(/\/another"/); // another provider
      expect(citizen.html).not.toContain('Okafor');
      const refusal = fed.logs.slice(logsBefore).find((l) => l.includes('wallet presentation refused'));
      expect(refusal).toMatch(expected);
      expect(fed.logs.slice(logsBefore).join('')).not.toMatch(/Okafor|1958-03-14|Station Road/);
      const events = await auditOf(citizen.html);
      expect(events.map((e) => e.type)).toEqual(['journey.started', 'journey.idpChosen', 'journey.idpFailed']);
      expect(events.at(-1)).toMatchObject({ data: { from: 'atProvider', to: 'failed', idp: WALLET_ID, reason: 'provider_failed' } });
      expect(JSON.stringify(events)).not.toMatch(/Okafor|Margaret|1958/);
      const back = await citizen.press('return');
      const url = (back as { url: URL }).url;
      expect(url.searchParams.get('error_reason')).toBe('provider_failed');
      expect(url.searchParams.get('code')).toBeNull();
    } finally {
      wallet().switches.fail = 'none';
    }
  });

  it('a replayed presentation: the same answer posted again is refused, and an old presentation in a new journey fails on its nonce', async () => {
    // A first journey, answered normally.
    const first = new Citizen(fed);
    await first.start(await fed.service(), { vtr: ['Cl.Cm.P2'], attributes: ATTRIBUTES });
    const { sameDevice } = await chooseWallet(first);
    const requestUri = new URL(sameDevice.searchParams.get('request_uri')!);
    await answerInWallet(first, sameDevice);
    expect(first.html).toContain('Okafor');
    // The response_uri takes one answer only.
    const state = requestUri.pathname.split('/')[3]!;
    const again = await fetch(`${fed.issuer}/wallet/response/${state}`, { method: 'POST', body: new URLSearchParams({ response: 'eyJhbGciOiJFQ0RILUVTIn0..x.y.z' }) });
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: 'invalid_request' });

    // The wallet sends that first presentation again to a new request.
    wallet().switches.fail = 'replay';
    try {
      const second = new Citizen(fed);
      await second.start(await fed.service(), { vtr: ['Cl.Cm.P2'], attributes: ATTRIBUTES });
      const failure = await presentWithWallet(second);
      expect((failure as { url: string }).url).toMatch(/\/failure$/);
      expect(fed.logs.join('')).toMatch(/credential refused: nonce/);
    } finally {
      wallet().switches.fail = 'none';
    }
  });

  it('a claim the journey needs left undisclosed: refused as missing, with a way forward', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'], attributes: ATTRIBUTES });
    const { sameDevice } = await chooseWallet(citizen);
    const failure = await answerInWallet(citizen, sameDevice, { onlyDisclose: 'given_name' });
    expect((failure as { url: string }).url).toMatch(/\/failure$/);
    expect(fed.logs.join('')).toMatch(/a claim asked for is missing from the presentation/);
  });

  it('cross-device: the wallet on another device fetches the QR request, answers, and the page that showed the QR code continues', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'], attributes: ATTRIBUTES });
    const { sameDevice, page } = await chooseWallet(citizen);
    const walletPage = citizen.html;
    // Continuing before the wallet answered: told so, still on the page.
    const early = await citizen.press('wallet');
    expect(early).toMatchObject({ kind: 'page', status: 400 });
    expect(citizen.html).toContain('Your wallet has not answered yet');
    // The phone: its own browser, the QR code's request_uri (…/cross).
    const cross = new URL(sameDevice);
    cross.searchParams.set('request_uri', sameDevice.searchParams.get('request_uri')!.replace(/\/same$/, '/cross'));
    expect(walletPage).toContain('wallet-qr');
    const phone = new Citizen(fed);
    phone.service = citizen.service;
    const request = await phone.browser.follow(cross);
    const { getText } = await import('../support/browser-client.js');
    const html = await getText(request.response);
    const answered = await phone.browser.submitForm(html, request.url, { fields: { person: 'margaret', decision: 'share' } });
    expect(answered.status).toBe(200); // no redirect: the phone is told to go back to the other device
    expect(await getText(answered)).toContain('Go back to the device where you started');
    // The first device continues.
    await citizen.visit((page as { url: string }).url);
    const consent = await citizen.press('wallet');
    expect(consent).toMatchObject({ kind: 'page', status: 200 });
    expect((consent as { url: string }).url).toMatch(/\/consent$/);
    expect(citizen.html).toContain('Okafor');
  });

  it('declined in the wallet: cancelled, with other providers offered', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'], attributes: ATTRIBUTES });
    const failure = await presentWithWallet(citizen, { decision: 'decline' });
    expect((failure as { url: string }).url).toMatch(/\/failure$/);
    expect(citizen.html).toMatch(/\/another"/);
    expect(fed.logs.join('')).toMatch(/the person declined in the wallet/);
    // (The cancelled page shows no reference: the last audit event is this journey's.)
    const all = await fed.brokers[0]!.audit.list({ limit: 1000 });
    expect(all.filter((e) => e.type.startsWith('journey.')).at(-1)).toMatchObject({ type: 'journey.idpFailed', data: { idp: WALLET_ID, reason: 'cancelled' } });
    const picker = await citizen.press('another');
    expect(picker).toMatchObject({ kind: 'page', status: 200 });
    expect(citizen.html).toContain('value="civic-id"');
  });

  it('level not met: the wallet is not offered above its certification, and a request for it is refused', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.Cp.P3'], attributes: ATTRIBUTES });
    expect(citizen.html).not.toContain(`value="${WALLET_ID}"`);
    await expect(citizen.choose(WALLET_ID)).rejects.toThrow(/did not redirect/);
  });

  it('the answer is bound to the browser: a response code is needed on the same device, and another browser gets nothing', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'], attributes: ATTRIBUTES });
    const { page } = await chooseWallet(citizen);
    const walletPage = (page as { url: string }).url;
    const stranger = new Citizen(fed);
    stranger.service = citizen.service;
    const elsewhere = await stranger.visit(`${walletPage}?response_code=guess`);
    expect(elsewhere).toMatchObject({ kind: 'page', status: 400 });
    // The citizen's own browser with a wrong code is refused too.
    const wrong = await citizen.visit(`${walletPage}?response_code=guess`);
    expect(wrong).toMatchObject({ kind: 'page', status: 400 });
  });
});
