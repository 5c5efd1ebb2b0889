/**
 * "The citizen's own record" (issue 12, point 4), over HTTP on a real Redis: a signed consent
 * receipt the citizen saves at consent (the broker keeps none), verifiable against the broker's
 * JWKS.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';
import { getText, parseForms } from '../support/browser-client.js';
import { storeScanner, type StoreScanner } from '../support/store-scan.js';

const VALUES = ['Margaret', 'Okafor', '1958-03-14', 'Station Road', 'EX1 2AB'];

describe("the citizen's own record", () => {
  let fed: Federation;
  let scan: StoreScanner;
  beforeAll(async () => {
    fed = await startFederation({ redisUrl: inject('redisUrl'), idps: ['civic-id'] });
    scan = storeScanner([inject('redisUrl')]);
  });
  afterAll(async () => {
    await scan?.close();
    await fed?.close();
  });

  /** A citizen at consent who approves and asks for a receipt: returns the receipt page. */
  async function approveWithReceipt(lang?: 'cy') {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'], ...(lang ? { extra: { ui_locales: lang } } : {}) });
    await citizen.verifyWith('civic-id', 'margaret');
    const consent = citizen.current as { html: string; url: string };
    expect(consent.html).toContain(lang ? 'derbynneb caniatâd' : 'a consent receipt');
    const response = await citizen.browser.submitForm(consent.html, consent.url, { formSelector: 'consent', fields: { decision: 'approve', receipt: 'yes' } });
    expect(response.status).toBe(200);
    return { citizen, html: await getText(response), url: consent.url };
  }

  async function save(citizen: Citizen, html: string, url: string, format: 'jwt' | 'json') {
    return citizen.browser.submitForm(html, url, { formSelector: 'receipt-form', fields: { format } });
  }

  it('at consent the citizen saves a signed consent receipt (ES256, verifiable against the JWKS), with names and no values, then continues to the service', async () => {
    const { citizen, html, url } = await approveWithReceipt();
    expect(html).toContain('Save your consent receipt');
    const saved = await save(citizen, html, url, 'jwt');
    expect(saved.status).toBe(200);
    expect(saved.headers.get('content-type')).toMatch(/^application\/jwt/);
    expect(saved.headers.get('content-disposition')).toMatch(/^attachment; filename="consent-receipt-[0-9A-Z-]+\.jwt"$/);
    const jws = await getText(saved);

    // Anyone can check it with the broker's published keys.
    const discovery = (await (await fetch(`${fed.issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
    const { payload, protectedHeader } = await jwtVerify(jws, createRemoteJWKSet(new URL(discovery.jwks_uri)), { issuer: fed.issuer, algorithms: ['ES256'], typ: 'consent-receipt+jwt' });
    expect(protectedHeader.kid).toBeTruthy();
    expect(payload).toMatchObject({
      version: '1.0',
      schema: 'ISO/IEC TS 27560',
      consent_type: 'explicit',
      controller: { name: 'Example Borough Council' },
      service: { id: 'example-council-tax' },
      attributes: ['given_name', 'family_name', 'birthdate', 'address'],
      level: 'Cl.Cm.P2',
      purposes: [{ legal_basis: 'consent' }],
    });
    expect(String(payload.jti)).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(String(payload.consent_time))).toBeGreaterThan(Date.now() - 60_000);
    for (const v of [...VALUES, 'civic-id', 'Civic ID']) expect(JSON.stringify(payload), `the receipt holds "${v}"`).not.toContain(v);

    // The readable file carries the same receipt and the signed one.
    const json = (await (await save(citizen, html, url, 'json')).json()) as { receipt: Record<string, unknown>; jws: string };
    expect(json.jws).toBe(jws);
    expect(json.receipt.jti).toBe(payload.jti);

    // Continue: the service gets its code, and its ID token names the same journey.
    const continueHref = html.match(/href="([^"]+)"[^>]*id="continue"|id="continue"[^>]*href="([^"]+)"/)!;
    await citizen.visit(new URL(continueHref[1] ?? continueHref[2]!, url));
    const { claims } = await citizen.collect();
    expect(claims.txn).toBe(payload.journey_reference);

    // The broker kept no copy.
    const everything = JSON.stringify(await scan.all(fed.brokers[0]!.config.keyPrefix));
    expect(everything).not.toContain(String(payload.jti));
    expect(everything).not.toContain(jws.split('.')[2]!);
  });

  it('only the receipt the broker signed is saved: an altered one, or one without the form token, is refused', async () => {
    const { citizen, html, url } = await approveWithReceipt();
    const form = parseForms(html, url).find((f) => f.id === 'receipt-form')!;
    const jws = form.fields.find(([k]) => k === 'receipt')![1];
    const [h, p, sig] = jws.split('.');
    const altered = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    altered.attributes = ['given_name'];
    const forged = `${h}.${Buffer.from(JSON.stringify(altered)).toString('base64url')}.${sig}`;
    expect((await citizen.browser.submitForm(html, url, { formSelector: 'receipt-form', fields: { format: 'jwt', receipt: forged } })).status).toBe(400);
    expect((await citizen.browser.submitForm(html, url, { formSelector: 'receipt-form', fields: { format: 'jwt', csrf: 'x'.repeat(32) } })).status).toBe(403);
    expect(decodeProtectedHeader(jws).alg).toBe('ES256');
  });

  it('the receipt page is in Welsh for a Welsh journey', async () => {
    const { html } = await approveWithReceipt('cy');
    expect(html).toContain('lang="cy"');
    expect(html).toContain('Cadw eich derbynneb caniatâd');
  });

  it('without asking for a receipt, consent goes straight back to the service', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    await citizen.verifyWith('civic-id', 'margaret');
    await citizen.consent('approve');
    expect(citizen.current.kind).toBe('service');
  });
});
