import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Vector } from '@idbroker/policies';
import { setup, type Setup } from './test-setup.js';

const P2: Vector = { authentication: 'Cl.Cm', confidence: 'P2' };

let s: Setup | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

describe('logs', () => {
  it('carry no personal data or IdP subject, whatever the outcome', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'trace' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    s = await setup({ upstream: { logger } });
    const rogue = s.rogues['civic-id']!;
    const run = async (beforeReturn?: () => void) => {
      const begun = await s!.idps.beginAuthorization('civic-id', { requested: [P2], attributes: ['given_name', 'family_name', 'birthdate'] });
      const callback = await rogue.authorize(begun.url);
      beforeReturn?.();
      return s!.idps.completeAuthorization('civic-id', callback, begun.secrets).catch((e: unknown) => e);
    };
    const ok = await run();
    expect(ok).toMatchObject({ verifiedClaims: { claims: { given_name: 'Margaret' } } });
    rogue.setIdentity({ ci: ['fraud.suspected'] });
    await run();
    rogue.setIdentity({ ci: [] });
    rogue.setIdToken((ctx) => ctx.sign({ ...ctx.claims, aud: 'someone-else' }));
    await run();
    rogue.setIdToken(undefined);
    expect(await run(() => rogue.setMode('error'))).toMatchObject({ reason: 'provider_failed' });
    expect(lines.length).toBeGreaterThanOrEqual(4);
    const all = lines.join('\n');
    for (const personal of ['Margaret', 'Okafor', '1958-03-14', 'Station Road', 'EX1 2AB', 'rogue-subject-1']) expect(all).not.toContain(personal);
  });
});

describe('transport', () => {
  it('without allowInsecureRequests, an http IdP is neither used nor reported healthy', async () => {
    s = await setup({ upstream: { allowInsecureRequests: false, health: { failuresToOpen: 1 } } });
    await expect(s.idps.beginAuthorization('civic-id', { requested: [P2], attributes: [] })).rejects.toHaveProperty('reason');
    await s.idps.checkHealth('civic-id');
    expect(s.idps.healthOf('civic-id').state).toBe('open');
    expect(s.rogues['civic-id']!.requests).toHaveLength(0);
  });

  it('an IdP that does not promise RFC 9207 iss may omit it, but a wrong iss is still refused', async () => {
    s = await setup({ rogue: { sendIss: false } });
    const rogue = s.rogues['civic-id']!;
    let begun = await s.idps.beginAuthorization('civic-id', { requested: [P2], attributes: [] });
    const callback = await rogue.authorize(begun.url);
    expect(callback.searchParams.has('iss')).toBe(false);
    await expect(s.idps.completeAuthorization('civic-id', callback, begun.secrets)).resolves.toMatchObject({ vot: 'Cl.Cm.P2' });
    begun = await s.idps.beginAuthorization('civic-id', { requested: [P2], attributes: [] });
    const forged = await rogue.authorize(begun.url);
    forged.searchParams.set('iss', 'http://127.0.0.1:9');
    await expect(s.idps.completeAuthorization('civic-id', forged, begun.secrets)).rejects.toMatchObject({ reason: 'invalid_response' });
  });
});
