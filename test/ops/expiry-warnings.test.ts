/** Operators are warned, in the logs and the metrics, as certifications and service keys near their end. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPolicies } from '@idbroker/policies';
import { startFederation, type Federation } from '../support/federation.js';

const shipped = loadPolicies(undefined, { now: new Date('2026-11-23') });
const swift = shipped.identityProvider('swift-verify')!;
const wallet = shipped.walletProvider('digital-wallet')!;

describe('expiry warnings', () => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation({
      idps: ['civic-id', 'swift-verify'],
      policyChanges: {
        idps: {
          'civic-id': { certification_expires: '2030-06-30' },
          'swift-verify': { certification_expires: '2030-07-31', certification: { ...swift.certification, issued: '2027-08-01', last_surveillance_audit: '2029-06-24' } },
          // The wallet's certificate (a holder service provider's) ends in 2 days; its last audit was 2029-07-10.
          'digital-wallet': { certification_expires: '2030-06-22', certification: { ...wallet.certification, issued: '2027-07-01', last_surveillance_audit: '2029-07-10' } },
        },
        rps: { 'example-council-tax': { keys_expire: '2030-06-22' } },
      },
      clockStart: new Date('2030-06-20T12:00:00Z'),
    });
  });
  afterAll(() => fed?.close());

  const warnings = () => fed.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === 40);

  it('warns at 30, 14 and 3 days, and not before', () => {
    expect(warnings()).toContainEqual(expect.objectContaining({ idp: 'civic-id', daysLeft: 10, threshold: 14, msg: 'IdP certification ends soon' }));
    expect(warnings()).toContainEqual(expect.objectContaining({ service: 'example-council-tax', daysLeft: 2, threshold: 3, msg: 'service keys expire soon' }));
    expect(warnings().some((w) => w.idp === 'swift-verify' && w.msg === 'IdP certification ends soon')).toBe(false); // 41 days left
  });

  it('warns for a wallet\'s certificate as for an IdP\'s: its end and its yearly audit', async () => {
    expect(warnings()).toContainEqual(expect.objectContaining({ idp: 'digital-wallet', daysLeft: 2, threshold: 3, msg: 'IdP certification ends soon' }));
    // Due 2030-07-10: 20 days after the clock.
    expect(warnings()).toContainEqual(expect.objectContaining({ idp: 'digital-wallet', daysLeft: 20, threshold: 30, msg: 'IdP surveillance audit due soon' }));
    expect(await (await fetch(`${fed.issuer}/metrics`)).text()).toContain('broker_idp_certification_days_left{idp="digital-wallet"} 2');
  });

  it('warns as the yearly surveillance audit falls due (30, 14, 3 days) and once it is overdue', () => {
    // swift-verify's last audit was 2029-06-24: the next is due 2030-06-24, 4 days after the clock.
    expect(warnings()).toContainEqual(expect.objectContaining({ idp: 'swift-verify', daysLeft: 4, threshold: 14, msg: 'IdP surveillance audit due soon' }));
    // civic-id's last audit (2026) is long past a year.
    expect(warnings()).toContainEqual(expect.objectContaining({ idp: 'civic-id', msg: 'IdP surveillance audit overdue' }));
  });

  it('exposes the days left as metrics', async () => {
    const text = await (await fetch(`${fed.issuer}/metrics`)).text();
    expect(text).toContain('broker_idp_certification_days_left{idp="civic-id"} 10');
    expect(text).toContain('broker_idp_certification_days_left{idp="swift-verify"} 41');
    expect(text).toContain('broker_service_keys_days_left{service="example-council-tax"} 2');
  });
});
