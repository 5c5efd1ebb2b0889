/**
 * Support staff: invitations, passkey enrolment and sign-in (WebAuthn with user verification,
 * no passwords), and store-backed sessions that any broker instance can serve.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Store } from '../store/index.js';
import type { Sealer } from '../crypto/seal.js';

export const ROLES = ['agent', 'supervisor', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export interface StaffAccount {
  id: string;
  name: string;
  role: Role;
  createdAt: number;
  credentials: Array<{ id: string; publicKey: string; counter: number; transports?: string[] }>;
}

export interface StaffSession {
  sid: string;
  staffId: string;
  csrf: string;
}

const INVITE_TTL = 24 * 3600;
/** How long a passkey ceremony (its challenge, and the browser-binding cookie) lasts. */
export const CEREMONY_SECONDS = 5 * 60;
const CHALLENGE_TTL = CEREMONY_SECONDS;
export const SESSION_IDLE_SECONDS = 30 * 60;
const ACCOUNT_TTL = 10 * 365 * 24 * 3600;

const keys = {
  invite: (token: string) => `staff-invite:{${token}}`,
  enrolChallenge: (token: string) => `staff-enrol-challenge:{${token}}`,
  signInChallenge: (challenge: string) => `staff-signin-challenge:{${challenge}}`,
  account: (id: string) => `staff:{${id}}`,
  credential: (credId: string) => `staff-credential:{${credId}}`,
  session: (sid: string) => `staff-session:{${sid}}`,
  /** Ids of enrolled staff (not personal data), for choosing whom to assign a case to. */
  accounts: 'staff-accounts',
};

/** Why a sign-in or an enrolment was refused: a code for the audit trail. */
export type StaffRefusal = 'unreadable' | 'expired' | 'other_browser' | 'unknown_passkey' | 'not_verified' | 'invite_invalid';

export class StaffError extends Error {
  override readonly name = 'StaffError';
  constructor(
    message: string,
    readonly code: StaffRefusal | 'invalid_input' = 'invalid_input',
  ) {
    super(message);
  }
}

/**
 * A WebAuthn ceremony is tied to the browser that asked for it (login CSRF defence): the page
 * that carries the challenge also sets a random value in a short-lived HttpOnly SameSite=Strict
 * cookie, and only the SHA-256 of that value is stored with the challenge. A response posted
 * from any other browser (another cookie jar, or a cross-site form that cannot send the
 * cookie) is refused, even with a valid challenge signed by a registered passkey.
 */
export const BROWSER_BINDING = /^[A-Za-z0-9_-]{32}$/;
export const newBrowserBinding = () => randomBytes(24).toString('base64url');
const bindingHash = (binding: string) => createHash('sha256').update(`staff-ceremony:${binding}`).digest('base64url');
function sameBrowser(stored: string, binding: string | undefined): boolean {
  if (!binding || !BROWSER_BINDING.test(binding)) return false;
  const a = Buffer.from(stored);
  const b = Buffer.from(bindingHash(binding));
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface StaffOptions {
  store: Store;
  sealer: Sealer;
  issuer: string;
  now: () => number;
}

export class Staff {
  readonly rpID: string;
  readonly origin: string;

  constructor(private readonly o: StaffOptions) {
    const url = new URL(o.issuer);
    this.rpID = url.hostname;
    this.origin = url.origin;
  }

  /** A single-use enrolment link, valid for 24 hours. */
  async invite(name: string, role: Role): Promise<{ token: string; url: string }> {
    if (!ROLES.includes(role)) throw new StaffError(`role must be one of ${ROLES.join(', ')}`);
    if (!name.trim() || name.length > 80) throw new StaffError('name must be 1 to 80 characters');
    const token = randomBytes(24).toString('base64url');
    await this.o.store.set(keys.invite(token), this.o.sealer.seal({ id: randomUUID(), name: name.trim(), role }, keys.invite(token)), INVITE_TTL);
    return { token, url: `${this.o.issuer}/support/staff/enrol/${token}` };
  }

  async peekInvite(token: string): Promise<{ id: string; name: string; role: Role } | undefined> {
    if (!/^[A-Za-z0-9_-]{32}$/.test(token)) return undefined;
    const sealed = await this.o.store.get(keys.invite(token));
    return sealed ? this.o.sealer.open(sealed, keys.invite(token)) : undefined;
  }

  /** Options for registering a passkey, bound to the browser holding `binding` (see BROWSER_BINDING). */
  async registrationOptions(token: string, binding: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
    if (!BROWSER_BINDING.test(binding)) throw new StaffError('no browser binding for this enrolment');
    const invite = await this.peekInvite(token);
    if (!invite) throw new StaffError('this enrolment link is not valid (used, expired or mistyped)', 'invite_invalid');
    const options = await generateRegistrationOptions({
      rpName: 'Identity broker support',
      rpID: this.rpID,
      userName: invite.name,
      userID: new TextEncoder().encode(invite.id),
      attestationType: 'none',
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      supportedAlgorithmIDs: [-7, -257],
    });
    await this.o.store.set(keys.enrolChallenge(token), JSON.stringify({ challenge: options.challenge, browser: bindingHash(binding) }), CHALLENGE_TTL);
    return options;
  }

  /**
   * Register the passkey and use up the invitation. `beforeWrite` runs once the passkey is
   * verified and before anything is written (the caller audits there: if it throws, no account
   * is created and the invitation stays usable).
   */
  async completeRegistration(token: string, response: RegistrationResponseJSON, binding: string | undefined, beforeWrite?: (account: StaffAccount) => Promise<void>): Promise<StaffAccount> {
    const pending = await this.o.store.take(keys.enrolChallenge(token));
    const inviteSealed = await this.o.store.get(keys.invite(token));
    if (!pending || !inviteSealed) throw new StaffError('this enrolment link is not valid (used, expired or mistyped)', 'invite_invalid');
    let challenge: string, browser: string;
    try {
      ({ challenge, browser } = JSON.parse(pending) as { challenge: string; browser: string });
    } catch {
      throw new StaffError('this enrolment was started before an upgrade: open the link again', 'invite_invalid');
    }
    if (typeof challenge !== 'string' || typeof browser !== 'string' || !sameBrowser(browser, binding)) throw new StaffError('this enrolment was started in another browser', 'other_browser');
    const invite = this.o.sealer.open<{ id: string; name: string; role: Role }>(inviteSealed, keys.invite(token));
    let result;
    try {
      result = await verifyRegistrationResponse({ response, expectedChallenge: challenge, expectedOrigin: this.origin, expectedRPID: this.rpID, requireUserVerification: true });
    } catch (e) {
      throw new StaffError(`the passkey could not be registered: ${(e as Error).message}`, 'not_verified');
    }
    if (!result.verified || !result.registrationInfo) throw new StaffError('the passkey could not be registered', 'not_verified');
    const { credential } = result.registrationInfo;
    const account: StaffAccount = {
      id: invite.id,
      name: invite.name,
      role: invite.role,
      createdAt: this.o.now(),
      credentials: [{ id: credential.id, publicKey: Buffer.from(credential.publicKey).toString('base64url'), counter: credential.counter, ...(credential.transports ? { transports: credential.transports } : {}) }],
    };
    await beforeWrite?.(account);
    if ((await this.o.store.take(keys.invite(token))) === null) throw new StaffError('this enrolment link has just been used', 'invite_invalid');
    await this.o.store.write([
      { op: 'set', key: keys.account(account.id), value: this.o.sealer.seal(account, keys.account(account.id)), ttlSeconds: ACCOUNT_TTL },
      { op: 'set', key: keys.credential(credential.id), value: account.id, ttlSeconds: ACCOUNT_TTL },
      { op: 'sadd', key: keys.accounts, member: account.id, ttlSeconds: ACCOUNT_TTL },
    ]);
    return account;
  }

  /** Every enrolled staff member (id, name, role), by name. */
  async list(): Promise<Array<Pick<StaffAccount, 'id' | 'name' | 'role'>>> {
    const ids = await this.o.store.members(keys.accounts);
    if (ids.length === 0) return [];
    const sealed = await this.o.store.getMany(ids.map(keys.account));
    return sealed
      .map((v, i) => (v ? this.o.sealer.open<StaffAccount>(v, keys.account(ids[i]!)) : undefined))
      .filter((a): a is StaffAccount => a !== undefined)
      .map(({ id, name, role }) => ({ id, name, role }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async account(id: string): Promise<StaffAccount | undefined> {
    const sealed = await this.o.store.get(keys.account(id));
    return sealed ? this.o.sealer.open<StaffAccount>(sealed, keys.account(id)) : undefined;
  }

  /**
   * Options for signing in with any registered passkey (discoverable credentials), bound to
   * the browser holding `binding` (see BROWSER_BINDING).
   */
  async authenticationOptions(binding: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
    if (!BROWSER_BINDING.test(binding)) throw new StaffError('no browser binding for this sign-in');
    const options = await generateAuthenticationOptions({ rpID: this.rpID, userVerification: 'required' });
    await this.o.store.set(keys.signInChallenge(options.challenge), bindingHash(binding), CHALLENGE_TTL);
    return options;
  }

  /**
   * Check a sign-in; a challenge works once, and only in the browser it was given to.
   * `beforeSession` runs once the passkey is verified and before anything is written (the
   * caller audits there: if it throws, no session exists). Returns a new session.
   */
  async completeAuthentication(response: AuthenticationResponseJSON, binding: string | undefined, beforeSession?: (account: StaffAccount) => Promise<void>): Promise<{ session: StaffSession; account: StaffAccount }> {
    let challenge: string;
    try {
      challenge = (JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8')) as { challenge: string }).challenge;
    } catch {
      throw new StaffError('the sign-in response is not readable', 'unreadable');
    }
    const browser = typeof challenge === 'string' && challenge ? await this.o.store.take(keys.signInChallenge(challenge)) : null;
    if (browser === null) throw new StaffError('this sign-in has expired or was already used: try again', 'expired');
    if (!sameBrowser(browser, binding)) throw new StaffError('this sign-in was started in another browser', 'other_browser');
    const staffId = typeof response.id === 'string' ? await this.o.store.get(keys.credential(response.id)) : null;
    const account = staffId ? await this.account(staffId) : undefined;
    const credential = account?.credentials.find((c) => c.id === response.id);
    if (!account || !credential) throw new StaffError('this passkey is not registered for support staff', 'unknown_passkey');
    let result;
    try {
      result = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.origin,
        expectedRPID: this.rpID,
        requireUserVerification: true,
        credential: { id: credential.id, publicKey: new Uint8Array(Buffer.from(credential.publicKey, 'base64url')), counter: credential.counter },
      });
    } catch (e) {
      throw new StaffError(`the passkey could not be verified: ${(e as Error).message}`, 'not_verified');
    }
    if (!result.verified) throw new StaffError('the passkey could not be verified', 'not_verified');
    credential.counter = result.authenticationInfo.newCounter;
    await beforeSession?.(account);
    const session: StaffSession = { sid: randomBytes(24).toString('base64url'), staffId: account.id, csrf: randomBytes(24).toString('base64url') };
    await this.o.store.write([
      { op: 'set', key: keys.account(account.id), value: this.o.sealer.seal(account, keys.account(account.id)), ttlSeconds: ACCOUNT_TTL },
      { op: 'set', key: keys.session(session.sid), value: this.o.sealer.seal(session, keys.session(session.sid)), ttlSeconds: SESSION_IDLE_SECONDS },
    ]);
    return { session, account };
  }

  /** The session and its staff member, sliding its idle timeout; undefined when timed out. */
  async session(sid: string | undefined): Promise<{ session: StaffSession; account: StaffAccount } | undefined> {
    if (!sid || !/^[A-Za-z0-9_-]{32}$/.test(sid)) return undefined;
    const sealed = await this.o.store.get(keys.session(sid));
    if (!sealed) return undefined;
    const session = this.o.sealer.open<StaffSession>(sealed, keys.session(sid));
    const account = await this.account(session.staffId);
    if (!account) return undefined;
    await this.o.store.write([{ op: 'expire', key: keys.session(sid), ttlSeconds: SESSION_IDLE_SECONDS }]);
    return { session, account };
  }

  async signOut(sid: string): Promise<void> {
    await this.o.store.del(keys.session(sid));
  }
}
