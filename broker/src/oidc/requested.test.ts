/** The level a service is told: capped to what it asked for (issue 12). */
import { describe, expect, it } from 'vitest';
import { defaultPoliciesDir, loadPolicies } from '@idbroker/policies';
import { cappedVector } from './requested.js';

const levels = loadPolicies(defaultPoliciesDir, { now: new Date('2026-11-23') }).levels;
const v = (s: string) => levels.parseVector(s);
const cap = (achieved: string, requested: string[]) => {
  const c = cappedVector(levels, v(achieved), requested.map(v));
  return c && levels.format(c);
};

describe('cappedVector', () => {
  it('never tells more than was asked for', () => {
    expect(cap('Cl.Cm.Cp.P3', ['Cl.Cm.P2'])).toBe('Cl.Cm.P2');
    expect(cap('Cl.Cm.Cp.P2', ['Cl.Cm.P2'])).toBe('Cl.Cm.P2');
    expect(cap('Cl.Cm.P1', ['Cl.P1'])).toBe('Cl.P1');
  });

  it('picks the strongest requested vector that was met, whatever the order asked', () => {
    expect(cap('Cl.Cm.Cp.P3', ['Cl.P1', 'Cl.Cm.P2'])).toBe('Cl.Cm.P2');
    expect(cap('Cl.Cm.Cp.P3', ['Cl.Cm.P2', 'Cl.P1'])).toBe('Cl.Cm.P2');
    expect(cap('Cl.Cm.P1', ['Cl.Cm.P2', 'Cl.P1'])).toBe('Cl.P1');
    // Two that cannot be compared: the higher identity confidence.
    expect(cap('Cl.Cm.Cp.P2', ['Cl.Cm.Cp.P1', 'Cl.Cm.P2'])).toBe('Cl.Cm.P2');
  });

  it('is undefined when nothing asked for was met', () => {
    expect(cap('Cl.P1', ['Cl.Cm.P2'])).toBeUndefined();
  });
});
