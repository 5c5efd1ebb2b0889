/**
 * The gatekeeper of the journey: load (one read), turn expiry into a timeout, refuse an
 * event the state does not accept, apply, audit every transition, save (one write).
 * Journey state is sealed (AES-256-GCM) with its key as additional data.
 *
 * A request's transitions and its write of the journey go to the store together, in one round
 * trip: the audit events and the journey (and whatever is written with it) in the audit's
 * append script (`AuditTrail.appendAll`), so the state is stored exactly when its transitions
 * are audited. `applyOnly` (the caller writes later, after other work) keeps its events for the
 * next `save`, `end` or `delete` of that journey; if none comes within DEFERRED_AUDIT_MS (the
 * request failed in between), they are appended on their own, so no transition that was applied
 * goes unaudited. Except into `matching`: the step after it sends attributes to the service, so
 * that transition is audited at once, before the release.
 */
import { randomBytes } from 'node:crypto';
import type { Store, WriteOp } from '../store/index.js';
import type { Sealer } from '../crypto/seal.js';
import type { AuditEventInput, AuditTrail } from '../audit/index.js';
import type { JourneyEvent } from './events.js';
import type { ChoosingProvider, JourneyState } from './journey-state.js';
import { transition } from './transitions.js';
import { newJourneyReference } from './reference.js';
import type { JourneyObserver } from '../metrics/index.js';

/**
 * A journey times out this long before its records are deleted (at the policy's TTL, at most
 * 90 minutes), so a late citizen is still told it timed out and sent back to the service.
 */
export const GRACE_SECONDS = 5 * 60;

/** How long `applyOnly`'s audit events wait for their journey's write before they go alone. */
export const DEFERRED_AUDIT_MS = 30_000;

export interface JourneysOptions {
  store: Store;
  sealer: Sealer;
  audit: AuditTrail;
  ttlSeconds: number;
  now: () => number;
  /** Told of every transition after it is audited (metrics). */
  observer?: JourneyObserver;
}

export interface NewJourney {
  uid: string;
  clientId: string;
  requested: string[];
  attributes: ChoosingProvider['attributes'];
  uiLocales?: string;
}

const journeyKey = (uid: string) => `journey:{${uid}}`;
const upstreamKey = (state: string) => `upstream-state:{${state}}`;

interface Transition {
  previous: JourneyState | undefined;
  next: JourneyState;
  event: string;
}

export class Journeys {
  /** Transitions applied by `applyOnly` and not yet audited, by journey uid, in order. */
  private readonly deferred = new Map<string, { transitions: Transition[]; timer: NodeJS.Timeout }>();

  constructor(private readonly options: JourneysOptions) {}

  async start(init: NewJourney): Promise<ChoosingProvider> {
    const now = this.options.now();
    const journey: ChoosingProvider = {
      name: 'choosingProvider',
      uid: init.uid,
      ref: newJourneyReference(),
      clientId: init.clientId,
      requested: init.requested,
      attributes: init.attributes,
      ...(init.uiLocales ? { uiLocales: init.uiLocales } : {}),
      createdAt: now,
      expiresAt: now + (this.options.ttlSeconds - GRACE_SECONDS) * 1000,
      csrf: randomBytes(24).toString('base64url'),
      tried: [],
    };
    await this.commit(journey.uid, [{ previous: undefined, next: journey, event: 'started' }], [this.saveOp(journey)]);
    return journey;
  }

  /** The journey, or undefined when there is none (never started, deleted, or gone past its grace). */
  async load(uid: string): Promise<JourneyState | undefined> {
    return this.open(uid, await this.options.store.get(journeyKey(uid)));
  }

  /** The sealed journey and other keys (the interaction's record), in one round trip. */
  async readAlong(uid: string, others: string[]): Promise<{ sealed: string | null; others: (string | null)[] }> {
    const [sealed = null, ...rest] = await this.options.store.getMany([journeyKey(uid), ...others]);
    return { sealed, others: rest };
  }

  /** A journey read by `readAlong`, as `load` gives it (a journey past its time times out now). */
  async open(uid: string, sealed: string | null): Promise<JourneyState | undefined> {
    if (!sealed) return undefined;
    const journey = this.options.sealer.open<JourneyState>(sealed, journeyKey(uid));
    if (journey.name !== 'failed' && journey.name !== 'complete' && this.options.now() > journey.expiresAt) {
      return this.apply(journey, [{ type: 'timedOut' }]);
    }
    return journey;
  }

  /** Apply events in order, audit each transition, save once. Throws InvalidJourneyState. */
  async apply(journey: JourneyState, events: JourneyEvent[], extraWrites: Array<{ key: string; value: string; ttlSeconds: number }> = []): Promise<JourneyState> {
    const { current, transitions } = this.run(journey, events);
    await this.commit(current.uid, transitions, [this.saveOp(current), ...extraWrites.map((w) => ({ op: 'set' as const, ...w }))]);
    return current;
  }

  /**
   * Apply without saving (the caller saves, ends or deletes the journey next): the transitions
   * are audited with that write, in its round trip (or on their own after DEFERRED_AUDIT_MS).
   */
  async applyOnly(journey: JourneyState, events: JourneyEvent[]): Promise<JourneyState> {
    const { current, transitions } = this.run(journey, events);
    // Into `matching`, the next step sends the person's attributes to the service's matching
    // endpoint: that release is audited before it happens, as it always was (one round trip).
    if (current.name === 'matching') await this.commit(journey.uid, transitions, []);
    else this.defer(journey.uid, transitions);
    return current;
  }

  async save(journey: JourneyState, extraWrites: Array<{ key: string; value: string; ttlSeconds: number }> = []): Promise<void> {
    await this.commit(journey.uid, [], [this.saveOp(journey), ...extraWrites.map((w) => ({ op: 'set' as const, ...w }))]);
  }

  private saveOp(journey: JourneyState): WriteOp {
    const ttl = Math.max(1, Math.ceil((journey.expiresAt - this.options.now()) / 1000) + GRACE_SECONDS);
    return { op: 'set', key: journeyKey(journey.uid), value: this.options.sealer.seal(journey, journeyKey(journey.uid)), ttlSeconds: ttl };
  }

  /** Events in order, each checked against the state it meets (throws InvalidJourneyState). */
  private run(journey: JourneyState, events: JourneyEvent[]): { current: JourneyState; transitions: Transition[] } {
    let current = journey;
    const transitions: Transition[] = [];
    for (const event of events) {
      const next = transition(current, event);
      transitions.push({ previous: current, next, event: event.type });
      current = next;
    }
    return { current, transitions };
  }

  private defer(uid: string, transitions: Transition[]): void {
    if (transitions.length === 0) return;
    const held = this.deferred.get(uid);
    if (held) {
      held.transitions.push(...transitions);
      return;
    }
    const timer = setTimeout(() => {
      // Nothing wrote the journey (its request failed in between): audit what was applied anyway.
      this.commit(uid, [], []).catch(() => undefined); // the audit logs its own failure
    }, DEFERRED_AUDIT_MS);
    timer.unref();
    this.deferred.set(uid, { transitions: [...transitions], timer });
  }

  /**
   * Audit the journey's deferred transitions and `transitions`, and write `ops`, in one round
   * trip (see AuditTrail.appendAll); then tell the observer. With no transition: a plain write.
   */
  private async commit(uid: string, transitions: Transition[], ops: WriteOp[]): Promise<void> {
    const held = this.deferred.get(uid);
    if (held) {
      clearTimeout(held.timer);
      this.deferred.delete(uid);
    }
    const all = [...(held?.transitions ?? []), ...transitions];
    if (all.length === 0) {
      if (ops.length) await this.options.store.write(ops);
      return;
    }
    await this.options.audit.appendAll(all.map((t) => auditInput(t)), ops);
    for (const t of all) this.options.observer?.transitioned(t.previous, t.next, t.event);
  }

  /** Remember which journey an upstream `state` belongs to (the IdP callback carries only that). */
  upstreamBinding(state: string, uid: string, journey: JourneyState) {
    const ttlSeconds = Math.max(1, Math.ceil((journey.expiresAt - this.options.now()) / 1000) + GRACE_SECONDS);
    return { key: upstreamKey(state), value: uid, ttlSeconds };
  }

  /** The journey uid for an upstream `state`, without using it up (to check the browser first). */
  async peekUpstream(state: string): Promise<string | null> {
    if (!/^[A-Za-z0-9_-]{16,128}$/.test(state)) return null;
    return this.options.store.get(upstreamKey(state));
  }

  /** The journey uid for an upstream `state`, once: a replayed callback finds nothing. */
  async takeUpstream(state: string): Promise<string | null> {
    if (!/^[A-Za-z0-9_-]{16,128}$/.test(state)) return null;
    return this.options.store.take(upstreamKey(state));
  }

  /** Delete the journey and, in the same round trip, write what outlives it (the sealed delivery). */
  async end(journey: JourneyState, writes: Array<{ key: string; value: string; ttlSeconds: number }>, ops: WriteOp[] = []): Promise<void> {
    await this.commit(journey.uid, [], [...ops, ...writes.map((w) => ({ op: 'set' as const, ...w })), { op: 'del', key: journeyKey(journey.uid) }]);
  }

  async delete(journey: JourneyState): Promise<void> {
    await this.commit(journey.uid, [], [{ op: 'del', key: journeyKey(journey.uid) }]);
  }
}

/** The audit event of one transition: codes only. */
function auditInput({ next, event, previous }: Transition): AuditEventInput {
  return {
      type: `journey.${event}`,
      journey: next.ref,
      actor: event === 'timedOut' ? 'system' : 'citizen',
      data: {
        from: previous?.name ?? null,
        to: next.name,
        client: next.clientId,
        idp: 'idpId' in next ? (next.idpId ?? null) : null,
        reason: next.name === 'failed' ? next.reason : null,
        // What exactly went wrong at the provider (an audit code: upstream/errors.ts).
        ...(next.name === 'failed' && next.cause && event === 'idpFailed' ? { cause: next.cause } : {}),
        // The levels asked for, once, at the start: a case opened later names them.
        ...(previous === undefined ? requestedForAudit(next.requested) : {}),
        // What went to the service, by attribute name (never values): the citizen's record shows it.
        ...(event === 'delivered' && next.name === 'complete' ? releasedForAudit(next.released ?? []) : {}),
      },
  };
}

/**
 * The levels asked for as audit codes: distinct vectors joined by ':' (the audit takes codes of
 * at most 64 characters, no spaces or commas), in as many fields as needed: `requested`,
 * `requested_2`, ... (a vtr may list up to eight vectors). `requestedFromAudit` reads them back.
 */
export function requestedForAudit(vectors: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  let field = 1;
  let chunk: string[] = [];
  const flush = () => {
    if (chunk.length) out[field === 1 ? 'requested' : `requested_${field}`] = chunk.join(':');
    field += 1;
    chunk = [];
  };
  for (const v of new Set(vectors)) {
    if ([...chunk, v].join(':').length > 64) flush();
    chunk.push(v);
  }
  flush();
  return out;
}

/** The levels asked for, from an audit event's data written by `requestedForAudit` (or the older space-separated form). */
export function requestedFromAudit(data: Record<string, unknown> | undefined): string[] {
  if (!data || typeof data.requested !== 'string') return [];
  const parts: string[] = [data.requested];
  for (let i = 2; typeof data[`requested_${i}`] === 'string'; i++) parts.push(data[`requested_${i}`] as string);
  return parts.flatMap((p) => p.split(/[ :]/)).filter(Boolean);
}

/**
 * The attribute names released, as audit codes: joined by ':' in fields of at most 64 characters
 * (`released`, `released_2`, ...); `released: ''` when none. `releasedFromAudit` reads them back.
 */
export function releasedForAudit(names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = { released: '' };
  let field = 1;
  let chunk: string[] = [];
  const flush = () => {
    if (chunk.length) out[field === 1 ? 'released' : `released_${field}`] = chunk.join(':');
    field++;
    chunk = [];
  };
  for (const name of names) {
    if ([...chunk, name].join(':').length > 64) flush();
    chunk.push(name);
  }
  flush();
  return out;
}

/** The attribute names released, from a `journey.delivered` audit event's data. */
export function releasedFromAudit(data: Record<string, unknown> | undefined): string[] {
  if (!data) return [];
  return Object.keys(data)
    .filter((k) => /^released(_\d+)?$/.test(k))
    .sort((a, b) => Number(a.split('_')[1] ?? 1) - Number(b.split('_')[1] ?? 1))
    .flatMap((k) => String(data[k] ?? '').split(':'))
    .filter(Boolean);
}
