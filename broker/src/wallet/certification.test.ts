/** A wallet's certificate counts like an IdP's: a register entry withdrawn stops it being offered or used. */
import { afterEach, describe, expect, it } from 'vitest';
import { testPolicies, type TestPolicies } from '../../../test/support/policies.js';
import { WalletVerifier } from './verifier.js';

const P2 = { authentication: 'Cl.Cm', confidence: 'P2' };
let files: TestPolicies | undefined;
afterEach(() => files?.remove());

describe('a wallet\'s certificate', () => {
  it('listed: offered for the levels it reaches; withdrawn from the register: not offered, and a presentation request is refused', async () => {
    files = testPolicies();
    const listed = new WalletVerifier({ policies: files.load(), brokerIssuer: 'http://127.0.0.1:1' });
    expect(listed.offer([P2]).find((o) => o.policy.id === 'digital-wallet')).toMatchObject({ offered: true, available: true });

    const record = files.load().walletProvider('digital-wallet')!.certification;
    files.changeIdp('digital-wallet', { certification: { ...record, register: { ...record.register, status: 'withdrawn', withdrawn_on: '2026-06-01' } } });
    const policies = files.load();
    expect(policies.warnings).toContainEqual(expect.objectContaining({ file: 'identity-providers/digital-wallet.yaml', field: 'certification.register.status' }));
    const withdrawn = new WalletVerifier({ policies, brokerIssuer: 'http://127.0.0.1:1' });
    expect(withdrawn.offer([P2]).find((o) => o.policy.id === 'digital-wallet')).toEqual(expect.objectContaining({ offered: false, available: false, reason: 'certificate_withdrawn' }));
    await expect(withdrawn.begin('digital-wallet', { requested: [P2], attributes: [] })).rejects.toMatchObject({ reason: 'level_not_met' });
  });
});
