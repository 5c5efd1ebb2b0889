/** Return codes: read from the provider's answer, put under who caused the failure, the gravest first. */
import { describe, expect, it } from 'vitest';
import { returnCodeCategory, returnCodeFailure, returnCodesFrom } from './return-codes.js';

const vocabulary = { evidence: ['N'], provider: ['T'], fraud: ['F', 'D', 'V'] };

describe('return codes', () => {
  it('are read from an error description "return_code: A B", and only from that', () => {
    expect(returnCodesFrom('return_code: N')).toEqual(['N']);
    expect(returnCodesFrom(' return_code: T  V ')).toEqual(['T', 'V']);
    expect(returnCodesFrom('return_code: <script> N')).toEqual(['N']);
    expect(returnCodesFrom('The person stopped')).toBeUndefined();
    expect(returnCodesFrom('return_code: ')).toBeUndefined();
    expect(returnCodesFrom(null)).toBeUndefined();
  });

  it.each([
    [['N'], 'level_not_met', 'return_code.evidence'],
    [['T'], 'provider_failed', 'return_code.provider'],
    [['F'], 'fraud_flagged', 'return_code.fraud'],
    [['D'], 'fraud_flagged', 'return_code.fraud'],
    [['T', 'N'], 'level_not_met', 'return_code.evidence'],
    [['N', 'V', 'T'], 'fraud_flagged', 'return_code.fraud'],
    [['Q9', 'N'], 'level_not_met', 'return_code.evidence'],
    [['Q9'], 'provider_failed', 'return_code.unknown'],
  ] as const)('%j: %s (%s)', (codes, reason, code) => {
    const e = returnCodeFailure('civic-id', codes, vocabulary);
    expect(e.reason).toBe(reason);
    expect(e.code).toBe(code);
    expect(e.detail).toContain(codes.join(' '));
  });

  it('follow the policy\'s vocabulary, not fixed letters', () => {
    expect(returnCodeCategory(['X1'], { evidence: [], provider: [], fraud: ['X1'] })).toBe('fraud');
    expect(returnCodeCategory(['F'], { evidence: ['F'], provider: [], fraud: [] })).toBe('evidence');
  });
});
