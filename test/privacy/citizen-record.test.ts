/**
 * "The citizen's own record" (issue 12, point 4), over HTTP on a real Redis: a signed consent
 * receipt the citizen saves at consent (the broker keeps none), verifiable against the broker's
 * JWKS.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';
import { BrowserClient, getText, parseForms } from '../support/browser-client.js';
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

  async function lookUpRecord(reference: string, fields: Record<string, string> = {}, lang = '') {
    const browser = new BrowserClient();
    const form = await getText(await browser.fetch(`${fed.issuer}/record${lang}`));
    return browser.submitForm(form, `${fed.issuer}/record`, { formSelector: 'record-form', fields: { reference, ...fields } });
  }

  it('with a journey reference the citizen sees what is held (timeline in plain words, what went to whom by name, when it is deleted) and downloads it as JSON; never the provider or a value', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    await citizen.verifyWith('civic-id', 'margaret');
    await citizen.consent('approve');
    const { claims } = await citizen.collect();
    const txn = String(claims.txn);
    const page = await lookUpRecord(txn.toLowerCase());
    expect(page.status).toBe(200);
    const html = await getText(page);
    expect(html).toContain(`What is held about ${txn}`);
    expect(html).toContain('You agreed to share your details');
    expect(html).toMatch(/Given name.*sent to Pay your council tax/);
    expect(html).toContain('The record of these steps (with no personal details) is kept until');
    for (const clue of [...VALUES, 'civic-id', 'Civic ID']) expect(html, `the record shows "${clue}"`).not.toContain(clue);

    const download = await lookUpRecord(txn, { format: 'json' });
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename="record-${txn}.json"`);
    const record = (await download.json()) as { reference: string; released: Array<{ attributes: string[] }>; timeline: Array<{ event: string }> };
    expect(record.reference).toBe(txn);
    expect(record.released[0]!.attributes).toEqual(['given_name', 'family_name', 'birthdate', 'address']);
    expect(record.timeline.map((e) => e.event)).toEqual(expect.arrayContaining(['journey.started', 'journey.consentGiven', 'journey.delivered']));
    for (const clue of [...VALUES, 'civic-id']) expect(JSON.stringify(record)).not.toContain(clue);
  });

  it('with a case reference the citizen sees the case: what it holds (not shown), when it closes and when it is deleted; in Welsh too', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    // Her check fell short; she asked for help and opened a case from the failure page.
    await citizen.failAtLevel('civic-id', 'margaret');
    await citizen.press('help');
    await citizen.press('help', { step: 'open', description: 'I am Margaret Okafor', contact: 'margaret@example.org' });
    const ref = citizen.html.match(/Your case reference is <strong>([0-9A-Z-]+)<\/strong>/)![1]!;
    const html = await getText(await lookUpRecord(ref));
    expect(html).toContain(`Support case ${ref}`);
    expect(html).toContain('Held, not shown here');
    expect(html).toContain('Closes if nothing happens by');
    expect(html).toContain('You asked for help and a support case was opened');
    expect(html).toContain('Nothing about you was sent to a service.');
    for (const clue of [...VALUES, 'margaret@example.org', 'civic-id', 'Civic ID']) expect(html).not.toContain(clue);
    const welsh = await getText(await lookUpRecord(ref, {}, '?lang=cy'));
    expect(welsh).toContain('lang="cy"');
    expect(welsh).toContain(`Achos cymorth ${ref}`);
  });

  it('an unknown reference finds nothing; the lookup needs the form token and is rate-limited with hashed keys', async () => {
    expect((await lookUpRecord('ZZZZ-ZZZZ-ZZZZ-Z')).status).toBe(404);
    const browser = new BrowserClient();
    const form = await getText(await browser.fetch(`${fed.issuer}/record`));
    expect((await browser.submitForm(form, `${fed.issuer}/record`, { formSelector: 'record-form', fields: { reference: 'X', csrf: 'y'.repeat(32) } })).status).toBe(403);
    const prefix = fed.brokers[0]!.config.keyPrefix;
    const limits = (await scan.all(`${prefix}rl:record-`)).map((k) => k.key.slice(prefix.length));
    expect(limits.length).toBeGreaterThan(0);
    for (const key of limits) expect(key).toMatch(/^rl:record-(ip|ref):\{[A-Za-z0-9_-]{43}\}$/);
    let status = 0;
    for (let i = 0; i < 12 && status !== 429; i++) status = (await lookUpRecord(`NOPE-NOPE-NOPE-${i}`)).status;
    expect(status).toBe(429);
  });
});
