/** What can happen to a journey. Events are past tense; I/O happens before, its result arrives here. */
import type { AtProvider, FailureReason, ReturnedIdentity } from './journey-state.js';
import type { UpstreamCause } from '../upstream/errors.js';

export type JourneyEvent =
  | { type: 'idpChosen'; idpId: string; upstream: AtProvider['upstream'] }
  | { type: 'idpReturned'; identity: ReturnedIdentity }
  | { type: 'idpFailed'; reason: Extract<FailureReason, 'cancelled' | 'provider_failed' | 'level_not_met' | 'fraud_flagged'>; cause?: UpstreamCause }
  | { type: 'consentGiven' }
  | { type: 'consentRefused' }
  | { type: 'matched'; accountRef: string }
  | { type: 'accountCreated'; accountRef: string }
  | { type: 'extraAttributeNeeded'; attribute: 'ni_number' }
  | { type: 'extraAttributeGiven'; attribute: 'ni_number'; value: string }
  | { type: 'extraAttributeDeclined' }
  | { type: 'notMatched' }
  | { type: 'matchingFailed' }
  | { type: 'signedInWithoutMatching' }
  | { type: 'anotherProviderRequested' }
  | { type: 'noProviderUsable' }
  | { type: 'delivered'; grantId: string }
  | { type: 'timedOut' };

export type EventType = JourneyEvent['type'];
export type EventOf<T extends EventType> = Extract<JourneyEvent, { type: T }>;
