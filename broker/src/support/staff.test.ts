import { describe, expect, it } from 'vitest';
import { SoftwareAuthenticator } from '@idbroker/idp-stub/testing';
import { createMemoryStore } from '../store/index.js';
import { createSealer } from '../crypto/seal.js';
import { newBrowserBinding, SESSION_IDLE_SECONDS, Staff, StaffError } from './staff.js';

const ORIGIN = 'https://broker.example';

describe('staff sessions', () => {
  it('time out after 30 idle minutes, and each use starts the idle time again', async () => {
    let now = Date.parse('2026-11-23T09:00:00Z');
    const store = createMemoryStore({ now: () => now });
    const staff = new Staff({ store, sealer: createSealer(new Uint8Array(32).fill(7)), issuer: ORIGIN, now: () => now });
    const { token } = await staff.invite('Alex Agent', 'agent');
    const authenticator = new SoftwareAuthenticator();
    const browser = newBrowserBinding();
    await staff.completeRegistration(token, authenticator.register((await staff.registrationOptions(token, browser)) as never, ORIGIN) as never, browser);
    const { session } = await staff.completeAuthentication(authenticator.authenticate((await staff.authenticationOptions(browser)) as never, ORIGIN, authenticator.credentials[0]) as never, browser);

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
    const staff = new Staff({ store, sealer: createSealer(new Uint8Array(32).fill(9)), issuer: ORIGIN, now: Date.now });
    await expect(staff.invite('X', 'admin' as never)).rejects.toThrow(/role must be one of agent, supervisor, auditor/);
    const { token } = await staff.invite('Sam', 'supervisor');
    const authenticator = new SoftwareAuthenticator();
    const browser = newBrowserBinding();
    await staff.completeRegistration(token, authenticator.register((await staff.registrationOptions(token, browser)) as never, ORIGIN) as never, browser);
    await expect(staff.registrationOptions(token, browser)).rejects.toThrow(/not valid/);
    await store.close();
  });
});

describe('passkey ceremonies are bound to the browser that asked for them (login CSRF)', () => {
  async function enrolled() {
    const store = createMemoryStore();
    const staff = new Staff({ store, sealer: createSealer(new Uint8Array(32).fill(5)), issuer: ORIGIN, now: Date.now });
    const { token } = await staff.invite('Mallory', 'agent');
    const authenticator = new SoftwareAuthenticator();
    const browser = newBrowserBinding();
    await staff.completeRegistration(token, authenticator.register((await staff.registrationOptions(token, browser)) as never, ORIGIN) as never, browser);
    return { store, staff, authenticator };
  }

  it('a valid sign-in response for a challenge issued to one browser is refused in another, and the challenge is used up', async () => {
    const { store, staff, authenticator } = await enrolled();
    const attackers = newBrowserBinding();
    const signed = authenticator.authenticate((await staff.authenticationOptions(attackers)) as never, ORIGIN, authenticator.credentials[0]) as never;
    for (const victims of [newBrowserBinding(), undefined]) {
      const refused = await staff.completeAuthentication(signed, victims).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(StaffError);
      expect((refused as StaffError).code).toMatch(victims ? /other_browser/ : /other_browser|expired/);
    }
    await expect(staff.completeAuthentication(signed, attackers)).rejects.toMatchObject({ code: 'expired' }); // single use, even when refused
    await store.close();
  });

  it('an enrolment response is refused from another browser; the invitation still works from the right one', async () => {
    const store = createMemoryStore();
    const staff = new Staff({ store, sealer: createSealer(new Uint8Array(32).fill(6)), issuer: ORIGIN, now: Date.now });
    const { token } = await staff.invite('Sam', 'supervisor');
    const authenticator = new SoftwareAuthenticator();
    const mine = newBrowserBinding();
    const response = authenticator.register((await staff.registrationOptions(token, mine)) as never, ORIGIN) as never;
    await expect(staff.completeRegistration(token, response, newBrowserBinding())).rejects.toMatchObject({ code: 'other_browser' });
    const again = authenticator.register((await staff.registrationOptions(token, mine)) as never, ORIGIN) as never;
    expect((await staff.completeRegistration(token, again, mine)).name).toBe('Sam');
    await store.close();
  });

  it('the hook that audits runs before anything is written: if it throws, there is no session and no account', async () => {
    const { store, staff, authenticator } = await enrolled();
    const browser = newBrowserBinding();
    const signed = authenticator.authenticate((await staff.authenticationOptions(browser)) as never, ORIGIN, authenticator.credentials[0]) as never;
    await expect(staff.completeAuthentication(signed, browser, async () => Promise.reject(new Error('audit down')))).rejects.toThrow('audit down');
    const keys: string[] = [];
    for await (const { key } of store.dump()) keys.push(key);
    expect(keys.filter((k) => k.startsWith('staff-session:'))).toEqual([]);

    const { token } = await staff.invite('Nobody Yet', 'agent');
    const other = new SoftwareAuthenticator();
    const enrolResponse = other.register((await staff.registrationOptions(token, browser)) as never, ORIGIN) as never;
    await expect(staff.completeRegistration(token, enrolResponse, browser, async () => Promise.reject(new Error('audit down')))).rejects.toThrow('audit down');
    expect(await staff.peekInvite(token)).toMatchObject({ name: 'Nobody Yet' }); // not used up
    const accounts: string[] = [];
    for await (const { key, value } of store.dump()) if (key.startsWith('staff-credential:')) accounts.push(value);
    expect(accounts).toHaveLength(1); // Mallory's only
    await store.close();
  });
});
