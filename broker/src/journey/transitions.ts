/**
 * The journey's transitions: one table, pure functions. `satisfies` makes the compiler
 * check that every state is listed, so no state can be entered but never handled.
 */
import type { EventOf, EventType, JourneyEvent } from './events.js';
import type { FailureReason, Failed, JourneyState, StateName, StateOf } from './journey-state.js';
import type { UpstreamCause } from '../upstream/errors.js';

type Handler<S extends StateName, E extends EventType> = (state: StateOf<S>, event: EventOf<E>) => JourneyState;
type Handlers = { [S in StateName]: { [E in EventType]?: Handler<S, E> } };

/** Failures after which choosing another provider can help. */
/**
 * Failures another provider can put right. Not `no_match`: the identity was verified and the
 * service's records are what did not fit, so another provider would return the same person.
 */
export const RETRYABLE_WITH_ANOTHER_PROVIDER: readonly FailureReason[] = ['provider_failed', 'level_not_met', 'cancelled'];

const fail = (state: JourneyState, reason: FailureReason, cause?: UpstreamCause): Failed => {
  const { name: stage, ...rest } = state;
  const common = pickCommon(rest as JourneyState);
  return { ...common, name: 'failed', reason, stage, ...('idpId' in state ? { idpId: state.idpId } : {}), ...(cause ? { cause } : {}) };
};

function pickCommon(s: JourneyState) {
  const { uid, ref, clientId, requested, attributes, uiLocales, createdAt, expiresAt, csrf, tried, receipt } = s;
  return { uid, ref, clientId, requested, attributes, ...(uiLocales ? { uiLocales } : {}), createdAt, expiresAt, csrf, tried, ...(receipt ? { receipt } : {}) };
}

export const transitions = {
  choosingProvider: {
    idpChosen: (s, e) => ({ ...pickCommon(s), name: 'atProvider', idpId: e.idpId, upstream: e.upstream, tried: [...new Set([...s.tried, e.idpId])] }),
    noProviderUsable: (s) => fail(s, 'no_provider'),
    timedOut: (s) => fail(s, 'timed_out'),
  },
  atProvider: {
    idpReturned: (s, e) => ({ ...pickCommon(s), name: 'consenting', idpId: s.idpId, identity: e.identity }),
    idpFailed: (s, e) => fail(s, e.reason, e.cause),
    // The citizen came back to the picker (browser back, or "choose another provider").
    anotherProviderRequested: (s) => ({ ...pickCommon(s), name: 'choosingProvider' }),
    idpChosen: (s, e) => ({ ...pickCommon(s), name: 'atProvider', idpId: e.idpId, upstream: e.upstream, tried: [...new Set([...s.tried, e.idpId])] }),
    timedOut: (s) => fail(s, 'timed_out'),
  },
  consenting: {
    consentGiven: (s) => ({ ...pickCommon(s), name: 'matching', idpId: s.idpId, identity: s.identity, attempt: 1 }),
    consentRefused: (s) => fail(s, 'cancelled'),
    // "Use a different identity provider": what this one returned is dropped, nothing is shared.
    anotherProviderRequested: (s) => ({ ...pickCommon(s), name: 'choosingProvider' }),
    timedOut: (s) => fail(s, 'timed_out'),
  },
  matching: {
    matched: (s, e) => ({ ...pickCommon(s), name: 'complete', idpId: s.idpId, outcome: 'matched', accountRef: e.accountRef }),
    accountCreated: (s, e) => ({ ...pickCommon(s), name: 'complete', idpId: s.idpId, outcome: 'accountCreated', accountRef: e.accountRef }),
    signedInWithoutMatching: (s) => ({ ...pickCommon(s), name: 'complete', idpId: s.idpId, outcome: 'signedIn' }),
    extraAttributeNeeded: (s, e) => ({ ...pickCommon(s), name: 'needsExtraAttribute', idpId: s.idpId, identity: s.identity, attribute: e.attribute, attempt: s.attempt }),
    notMatched: (s) => fail(s, 'no_match'),
    matchingFailed: (s) => fail(s, 'matching_failed'),
  },
  needsExtraAttribute: {
    extraAttributeGiven: (s, e) => ({ ...pickCommon(s), name: 'matching', idpId: s.idpId, identity: s.identity, attempt: s.attempt + 1, extra: { [e.attribute]: e.value } }),
    extraAttributeDeclined: (s) => fail(s, 'no_match'),
    timedOut: (s) => fail(s, 'timed_out'),
  },
  complete: {
    delivered: (s, e) => ({ ...s, grantId: e.grantId }),
    timedOut: (s) => fail(s, 'timed_out'),
  },
  failed: {
    anotherProviderRequested: (s) => ({ ...pickCommon(s), name: 'choosingProvider' }),
  },
} satisfies Handlers;

export class InvalidJourneyState extends Error {
  override readonly name = 'InvalidJourneyState';
  constructor(
    readonly actual: StateName,
    readonly event: EventType,
  ) {
    super(`event ${event} is not allowed in state ${actual}`);
  }
}

/** Apply one event: the next state, or InvalidJourneyState. Pure. */
export function transition(state: JourneyState, event: JourneyEvent): JourneyState {
  if (event.type === 'anotherProviderRequested' && state.name === 'failed' && !RETRYABLE_WITH_ANOTHER_PROVIDER.includes(state.reason)) {
    throw new InvalidJourneyState(state.name, event.type);
  }
  const table = transitions[state.name] as Record<string, Handler<StateName, EventType> | undefined>;
  const handler = table[event.type];
  if (!handler) throw new InvalidJourneyState(state.name, event.type);
  return handler(state as never, event as never);
}

/** The events a state accepts (for pages that decide what to offer). */
export function accepts(state: JourneyState, type: EventType): boolean {
  return type in (transitions[state.name] as object);
}
