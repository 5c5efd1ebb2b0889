/** The levels a journey asked for fit the audit's codes however many vectors were asked for (issue 13, item 1). */
import { describe, expect, it } from 'vitest';
import { requestedForAudit, requestedFromAudit } from './journeys.js';

const CODE = /^[A-Za-z0-9._:-]{1,64}$/;

describe('requested levels in the audit trail', () => {
  it('one or two vectors: one code, no spaces', () => {
    expect(requestedForAudit(['Cl.Cm.P2'])).toEqual({ requested: 'Cl.Cm.P2' });
    expect(requestedForAudit(['Cl.Cm.P2', 'Cl.Cm.P1'])).toEqual({ requested: 'Cl.Cm.P2:Cl.Cm.P1' });
  });

  it('eight long vectors (the most a vtr may list) are split over fields of at most 64 characters, and read back in order', () => {
    const eight = ['Cl.Cm.Cp.P3', 'Cl.Cm.Cp.P2', 'Cl.Cm.Cp.P1', 'Cl.Cm.Cp.P0', 'Cl.Cm.P3', 'Cl.Cm.P2', 'Cl.Cm.P1', 'Cl.Cm.P0'];
    const data = requestedForAudit(eight);
    expect(Object.keys(data)).toEqual(['requested', 'requested_2']);
    for (const value of Object.values(data)) expect(value).toMatch(CODE);
    expect(requestedFromAudit(data)).toEqual(eight);
  });

  it('repeated vectors are recorded once; the older space-separated form still reads', () => {
    expect(requestedForAudit(['Cl.Cm.P2', 'Cl.Cm.P2'])).toEqual({ requested: 'Cl.Cm.P2' });
    expect(requestedFromAudit({ requested: 'Cl.Cm.P2' })).toEqual(['Cl.Cm.P2']);
    expect(requestedFromAudit(undefined)).toEqual([]);
  });
});
