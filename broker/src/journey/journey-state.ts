/**
 * The journey: every state its own serialisable type, a union the compiler checks.
 *
 *   started -> choosingProvider -> atProvider -> consenting -> matching
 *     -> complete (matched | accountCreated | signedIn)
 *     -> needsExtraAttribute -> matching
 *     -> failed (cancelled | no_match | level_not_met | provider_failed | fraud_flagged
 *                | timed_out | matching_failed | no_provider)
 *
 * `matching` is passed through within one request (the call to the service's matching
 * URL happens between two transitions); it is audited like every other state.
 */
import type { AttributeName } from '@idbroker/policies';
import { ERROR_REASONS, type ErrorReason } from '@idbroker/relying-party-sdk/protocol';

/** Why a journey failed: the same closed list the service receives as `error_reason` (the SDK owns it). */
export const FAILURE_REASONS = ERROR_REASONS;
export type FailureReason = ErrorReason;

/** The secrets of the request to the IdP (kept only in the encrypted journey state). */
export type { UpstreamSecrets } from '../upstream/index.js';
import type { UpstreamSecrets } from '../upstream/index.js';
import type { WalletSecrets } from '../wallet/verifier.js';
import type { UpstreamCause } from '../upstream/errors.js';

/** What came back from the IdP, reduced to what this service asked for and may have. */
export interface ReturnedIdentity {
  /** The broker's internal subject (a keyed hash of IdP and IdP subject). */
  internalSubject: string;
  vot: string;
  verification: Record<string, unknown>;
  claims: Record<string, unknown>;
}

interface Common {
  /** The oidc-provider interaction id (also the key of the state in the store). */
  uid: string;
  /** The journey reference: shown to the citizen, carried to the service as `txn`. */
  ref: string;
  clientId: string;
  /** Requested vectors, formatted (e.g. "Cl.Cm.P2"). */
  requested: string[];
  attributes: AttributeName[];
  uiLocales?: string;
  createdAt: number;
  expiresAt: number;
  /** CSRF token for every form of this journey. */
  csrf: string;
  /** IdPs already tried in this journey (the picker can suggest others). */
  tried: string[];
  /** The citizen asked for a consent receipt (shown once the result is ready for the service). */
  receipt?: true;
}

export interface ChoosingProvider extends Common {
  name: 'choosingProvider';
}
export interface AtProvider extends Common {
  name: 'atProvider';
  idpId: string;
  /** An IdP's authorization request, or a wallet's presentation request (kind: 'wallet'). */
  upstream: UpstreamSecrets | WalletSecrets;
}
export interface Consenting extends Common {
  name: 'consenting';
  idpId: string;
  identity: ReturnedIdentity;
}
export interface Matching extends Common {
  name: 'matching';
  idpId: string;
  identity: ReturnedIdentity;
  attempt: number;
  extra?: Record<string, string>;
}
export interface NeedsExtraAttribute extends Common {
  name: 'needsExtraAttribute';
  idpId: string;
  identity: ReturnedIdentity;
  attribute: 'ni_number';
  attempt: number;
}
export interface Complete extends Common {
  name: 'complete';
  idpId: string;
  outcome: 'matched' | 'accountCreated' | 'signedIn';
  accountRef?: string;
  grantId?: string;
  /** The attributes released to the service, by name (audited with `delivered`: the citizen's record shows them). */
  released?: string[];
}
export interface Failed extends Common {
  name: 'failed';
  reason: FailureReason;
  /** The state the journey was in when it failed. */
  stage: StateName;
  idpId?: string;
  caseRef?: string;
  /** What exactly went wrong at the provider, as an audit code (upstream/errors.ts). */
  cause?: UpstreamCause;
}

export type JourneyState = ChoosingProvider | AtProvider | Consenting | Matching | NeedsExtraAttribute | Complete | Failed;
export type StateName = JourneyState['name'];
export type StateOf<N extends StateName> = Extract<JourneyState, { name: N }>;
