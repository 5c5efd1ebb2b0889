/**
 * Support staff: invitations, passkey enrolment and sign-in (WebAuthn with user verification,
 * no passwords), and store-backed sessions that any broker instance can serve.
 */
import { randomBytes, randomUUID } from 'node:crypto';
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
const CHALLENGE_TTL = 5 * 60;
export const SESSION_IDLE_SECONDS = 30 * 60;
const ACCOUNT_TTL = 10 * 365 * 24 * 3600;

const keys = {
  invite: (token: string) => `staff-invite:{${token}}`,
  enrolChallenge: (token: string) => `staff-enrol-challenge:{${token}}`,
  signInChallenge: (challenge: string) => `staff-signin-challenge:{${challenge}}`,
  account: (id: string) => `staff:{${id}}`,
  credential: (credId: string) => `staff-credential:{${credId}}`,
  session: (sid: string) => `staff-session:{${sid}}`,
};

export class StaffError extends Error {
  override readonly name = 'StaffError';
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

  async registrationOptions(token: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const invite = await this.peekInvite(token);
    if (!invite) throw new StaffError('this enrolment link is not valid (used, expired or mistyped)');
    const options = await generateRegistrationOptions({
      rpName: 'Identity broker support',
      rpID: this.rpID,
      userName: invite.name,
      userID: new TextEncoder().encode(invite.id),
      attestationType: 'none',
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      supportedAlgorithmIDs: [-7, -257],
    });
    await this.o.store.set(keys.enrolChallenge(token), options.challenge, CHALLENGE_TTL);
    return options;
  }

  /** Register the passkey and use up the invitation. */
  async completeRegistration(token: string, response: RegistrationResponseJSON): Promise<StaffAccount> {
    const challenge = await this.o.store.take(keys.enrolChallenge(token));
    const inviteSealed = await this.o.store.get(keys.invite(token));
    if (!challenge || !inviteSealed) throw new StaffError('this enrolment link is not valid (used, expired or mistyped)');
    const invite = this.o.sealer.open<{ id: string; name: string; role: Role }>(inviteSealed, keys.invite(token));
    const result = await verifyRegistrationResponse({ response, expectedChallenge: challenge, expectedOrigin: this.origin, expectedRPID: this.rpID, requireUserVerification: true });
    if (!result.verified || !result.registrationInfo) throw new StaffError('the passkey could not be registered');
    if ((await this.o.store.take(keys.invite(token))) === null) throw new StaffError('this enrolment link has just been used');
    const { credential } = result.registrationInfo;
    const account: StaffAccount = {
      id: invite.id,
      name: invite.name,
      role: invite.role,
      createdAt: this.o.now(),
      credentials: [{ id: credential.id, publicKey: Buffer.from(credential.publicKey).toString('base64url'), counter: credential.counter, ...(credential.transports ? { transports: credential.transports } : {}) }],
    };
    await this.o.store.write([
      { op: 'set', key: keys.account(account.id), value: this.o.sealer.seal(account, keys.account(account.id)), ttlSeconds: ACCOUNT_TTL },
      { op: 'set', key: keys.credential(credential.id), value: account.id, ttlSeconds: ACCOUNT_TTL },
    ]);
    return account;
  }

  async account(id: string): Promise<StaffAccount | undefined> {
    const sealed = await this.o.store.get(keys.account(id));
    return sealed ? this.o.sealer.open<StaffAccount>(sealed, keys.account(id)) : undefined;
  }

  /** Options for signing in with any registered passkey (discoverable credentials). */
  async authenticationOptions(): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const options = await generateAuthenticationOptions({ rpID: this.rpID, userVerification: 'required' });
    await this.o.store.set(keys.signInChallenge(options.challenge), '1', CHALLENGE_TTL);
    return options;
  }

  /** Check a sign-in; a challenge works once. Returns a new session. */
  async completeAuthentication(response: AuthenticationResponseJSON): Promise<{ session: StaffSession; account: StaffAccount }> {
    let challenge: string;
    try {
      challenge = (JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8')) as { challenge: string }).challenge;
    } catch {
      throw new StaffError('the sign-in response is not readable');
    }
    if (!challenge || (await this.o.store.take(keys.signInChallenge(challenge))) === null) throw new StaffError('this sign-in has expired or was already used: try again');
    const staffId = await this.o.store.get(keys.credential(response.id));
    const account = staffId ? await this.account(staffId) : undefined;
    const credential = account?.credentials.find((c) => c.id === response.id);
    if (!account || !credential) throw new StaffError('this passkey is not registered for support staff');
    const result = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: this.origin,
      expectedRPID: this.rpID,
      requireUserVerification: true,
      credential: { id: credential.id, publicKey: new Uint8Array(Buffer.from(credential.publicKey, 'base64url')), counter: credential.counter },
    });
    if (!result.verified) throw new StaffError('the passkey could not be verified');
    credential.counter = result.authenticationInfo.newCounter;
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
