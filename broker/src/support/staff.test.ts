import { describe, expect, it } from 'vitest';
import { SoftwareAuthenticator } from '@idbroker/idp-stub/testing';
import { createMemoryStore } from '../store/index.js';
import { createSealer } from '../crypto/seal.js';
import { SESSION_IDLE_SECONDS, Staff } from './staff.js';

describe('staff sessions', () => {
  it('time out after 30 idle minutes, and each use starts the idle time again', async () => {
    let now = Date.parse('2026-11-23T09:00:00Z');
    const store = createMemoryStore({ now: () => now });
    const staff = new Staff({ store, sealer: createSealer(new Uint8Array(32).fill(7)), issuer: 'https://broker.example', now: () => now });
    const { token } = await staff.invite('Alex Agent', 'agent');
    const authenticator = new SoftwareAuthenticator();
    await staff.completeRegistration(token, authenticator.register((await staff.registrationOptions(token)) as never, 'https://broker.example') as never);
    const { session } = await staff.completeAuthentication(authenticator.authenticate((await staff.authenticationOptions()) as never, 'https://broker.example', authenticator.credentials[0]) as never);

    now += (SESSION_IDLE_SECONDS - 60) * 1000;
    expect((await staff.session(session.sid))?.account.name).toBe('Alex Agent'); // used: idle time starts again
    now += (SESSION_IDLE_SECONDS - 60) * 1000;
    expect(await staff.session(session.sid)).toBeDefined();
    now += (SESSION_IDLE_SECONDS + 1) * 1000;
    expect(await staff.session(session.sid)).toBeUndefined();
    await store.close();
  });

  it('an invitation works once and names a known role', async () => {
    const store = createMemoryStore();
    const staff = new Staff({ store, sealer: createSealer(new Uint8Array(32).fill(9)), issuer: 'https://broker.example', now: Date.now });
    await expect(staff.invite('X', 'admin' as never)).rejects.toThrow(/role must be one of agent, supervisor, auditor/);
    const { token } = await staff.invite('Sam', 'supervisor');
    const authenticator = new SoftwareAuthenticator();
    await staff.completeRegistration(token, authenticator.register((await staff.registrationOptions(token)) as never, 'https://broker.example') as never);
    await expect(staff.registrationOptions(token)).rejects.toThrow(/not valid/);
    await store.close();
  });
});
