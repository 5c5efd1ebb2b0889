import { describe, expect, it } from 'vitest';
import { defaultPoliciesDir, loadPolicies, LevelError } from '../src/index.js';

const { levels } = loadPolicies(defaultPoliciesDir, { now: new Date('2026-11-23') });

describe('levels as vectors', () => {
  it('parses vectors, with P0 when no confidence is named', () => {
    expect(levels.parseVector('Cl.Cm.P2')).toEqual({ authentication: 'Cl.Cm', confidence: 'P2' });
    expect(levels.parseVector('Cl.Cm')).toEqual({ authentication: 'Cl.Cm', confidence: 'P0' });
    expect(levels.format(levels.parseVector('Cl.Cm.Cp.P3'))).toBe('Cl.Cm.Cp.P3');
  });

  it('refuses unknown components, two confidences, and P2 with a password alone', () => {
    expect(() => levels.parseVector('Cl.Cx.P2')).toThrow(LevelError);
    expect(() => levels.parseVector('Cl.P1.P2')).toThrow(/more than one/);
    expect(() => levels.parseVector('Cl.P2')).toThrow(/needs authentication of at least Cl.Cm/);
    expect(() => levels.parseVector('P2.Cl.Cm')).toThrow(/must come last/);
  });

  it('compares on both components', () => {
    const p = (v: string) => levels.parseVector(v);
    expect(levels.satisfies(p('Cl.Cm.P2'), p('Cl.P1'))).toBe(true);
    expect(levels.satisfies(p('Cl.Cm.P1'), p('Cl.Cm.P2'))).toBe(false);
    expect(levels.satisfies(p('Cl.P1'), p('Cl.Cm.P1'))).toBe(false);
    expect(levels.satisfiesAny(p('Cl.Cm.Cp.P1'), [p('Cl.Cm.P2'), p('Cl.Cm.Cp.P1')])).toBe(true);
  });

  it('reads vtr and acr_values aliases', () => {
    expect(levels.parseVtr('["Cl.Cm.P2","Cl.P1"]')).toHaveLength(2);
    expect(() => levels.parseVtr('Cl.Cm.P2')).toThrow(/JSON array/);
    expect(levels.parseAcrValues('http://eidas.europa.eu/LoA/substantial')).toEqual([{ authentication: 'Cl.Cm', confidence: 'P2' }]);
  });

  it('maps levels to eIDAS and NIST floors', () => {
    const d = levels.describe(levels.parseVector('Cl.Cm.P2'));
    expect(d.confidence.floors).toEqual({ eidas: 'substantial', nist_ial: 'IAL2' });
    expect(d.authentication.floors).toEqual({ eidas: 'substantial', nist_aal: 'AAL2' });
  });
});
