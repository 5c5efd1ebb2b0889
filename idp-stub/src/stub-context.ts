/** The shared state of one running stub, handed to each part (provider, pages, admin). */
import type { Gpg45Scores, IdentityProviderPolicy, Levels } from '@idbroker/policies';
import type { WebAuthnCredential } from '@simplewebauthn/server';
import type { JWK } from 'jose';
import type Provider from 'oidc-provider';
import type { AttemptLimits, Attempts } from './attempts.js';
import type { DemoIdentity } from './identities.js';
import type { FailMode, Switches } from './switches.js';
import type { Locale } from './locales.js';

export interface IdpStubOptions {
  policy: IdentityProviderPolicy;
  levels: Levels;
  /** Default: the port of `issuer`. 0 picks a free one (then `issuer` must not name a port). */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1 (loopback only); 0.0.0.0 in a container. */
  host?: string;
  /** Default: policy.issuer. Tests pass http://127.0.0.1:<free port>. */
  issuer?: string;
  /** The broker, the one client of this IdP. */
  broker: { clientId: string; jwks: { keys: JWK[] }; redirectUris: string[] };
  /** Default: idp-stub/data/identities.yaml. */
  identities?: DemoIdentity[];
  /** Bearer token for /admin/switches. Without one, /admin answers 404. */
  adminToken?: string;
  /** Starting switches. Default: from IDP_STUB_FAIL and IDP_STUB_DELAY_MS. */
  switches?: Partial<Switches>;
  /** ES256 private JWK signing ID tokens. Default: a new key. */
  signingKey?: JWK;
  /** Limits on wrong passwords and codes (defaults: 5 per account, 10 per sign-in, locked 15 minutes). */
  attemptLimits?: Partial<AttemptLimits>;
  now?: () => Date;
}

export interface RecordedRequest {
  method: string;
  /** Path and query. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** The body as text ('' when none). */
  body: string;
}

/** What the sign-in established, kept by grant id until the tokens are issued. */
export interface LoginFacts {
  accountId: string;
  username: string;
  acr: string;
  confidence: string;
  fraud: boolean;
  /** RFC 8176 methods used at sign-in. */
  amr?: string[];
  /** The GPG 45 scores returned in verified_claims.verification.evidence (none when null or absent). */
  scores?: Gpg45Scores | null;
  /** How the ID token is to be made wrong (a token fail mode), if at all. */
  tamper?: FailMode;
  at: number;
}

export interface InteractionState {
  csrf: string;
  username?: string;
  otp?: { code: string; used: boolean; attempts: number };
  /** Wrong passwords in this interaction (any accounts). */
  passwordFailures: number;
  challenge?: string;
  createdAt: number;
  /** The language this sign-in was switched to with the stub's own toggle (else its ui_locales). */
  locale?: Locale;
}

export interface PasskeySession {
  username: string;
  csrf: string;
  challenge?: string;
  exp: number;
}

export const FACTS_TTL_MS = 60 * 60 * 1000;

export interface StubContext {
  readonly options: IdpStubOptions;
  readonly policy: IdentityProviderPolicy;
  readonly levels: Levels;
  readonly now: () => Date;
  readonly issuer: string;
  readonly origin: string;
  readonly rpID: string;
  readonly idpName: string;
  /** The provider's name in a language (its policy's Welsh name where it has one). */
  readonly idpNameIn: (locale: Locale) => string;
  /**
   * The broker's "carry on with your journey" page (its /journey/resume, on the origin of its
   * redirect URI): where a dead end at the stub leads. It names no service.
   */
  readonly resumeUrl: string;
  readonly bySubject: ReadonlyMap<string, DemoIdentity>;
  readonly byUsername: ReadonlyMap<string, DemoIdentity>;
  /** The current switches (replaced whole when changed). */
  switches: Switches;
  readonly requests: RecordedRequest[];
  readonly facts: Map<string, LoginFacts>;
  readonly interactions: Map<string, InteractionState>;
  readonly passkeys: Map<string, WebAuthnCredential[]>;
  readonly passkeySessions: Map<string, PasskeySession>;
  readonly attempts: Attempts;
  /** The ES256 private JWK that signs ID tokens (kept to re-sign a token made wrong on purpose). */
  readonly signingKey: JWK;
}

/** A stub's context together with its OpenID Provider. */
export interface StubRuntime extends StubContext {
  readonly provider: Provider;
}

/** Forget sign-in facts, interactions and passkey sessions past their time. */
export function prune(stub: StubContext): void {
  const t = stub.now().getTime();
  for (const [k, f] of stub.facts) if (t - f.at > FACTS_TTL_MS) stub.facts.delete(k);
  for (const [k, s] of stub.interactions) if (t - s.createdAt > FACTS_TTL_MS) stub.interactions.delete(k);
  for (const [k, s] of stub.passkeySessions) if (s.exp < t) stub.passkeySessions.delete(k);
  stub.attempts.passwords.prune();
  stub.attempts.codes.prune();
}
