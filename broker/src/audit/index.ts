/**
 * The audit trail: append-only and hash-chained, in the store.
 *
 * Every event carries `seq` (1, 2, ...), `at` (ISO time), `prevHash` (the previous event's
 * hash; 64 zeros for the first) and `hash` = SHA-256 (hex) over the canonical JSON (sorted
 * keys, no whitespace) of the event without `hash`. Editing, deleting or reordering any
 * event breaks the chain, and `verify()` names the first broken link.
 *
 * NO PERSONAL DATA. Callers pass codes, never values: `{ reason: 'no_match', idp: 'idp-a',
 * attempt: 2 }`, never a name, a birth date, an address or an NI number. To make that hard
 * to get wrong, `data` values are numbers, booleans, null, or strings of at most 64
 * characters from [A-Za-z0-9._:-] (no spaces, no '@'); references (journey, caseRef, actor)
 * follow the same rule. Anything else is refused with an AuditError.
 *
 * Concurrency (several broker instances on one Redis): an event is written with SET NX at
 * its sequence number (`audit:event:<seq>`). The loser of a race reads the winner's event,
 * chains onto it and tries the next number, so the chain stays linear with no lock and no
 * Lua, on any Store. `audit:head` is a hint {seq, hash} that saves walking the chain.
 *
 * Redis Cluster: the keys carry no hash tag, so events spread over the cluster; no operation
 * needs two of them in one slot (the SET NX claim is single-key, `head` and the journey/case
 * indexes are hints written after it, and `prune` moves the anchor before deleting).
 *
 * Fail closed: when the store is down, `append` throws and the caller's step fails.
 *
 * Retention: events are kept for `retentionDays` (policies/broker.yaml `audit.retention_days`).
 * `prune()` removes events older than that from the start of the chain and moves the anchor
 * (`audit:anchor` = {seq, hash} of the last pruned event), from which `verify()` starts.
 * Each event's store TTL is the retention plus 30 days, a safety net if prune never runs.
 */
import { createHash } from 'node:crypto';
import type { Store, WriteOp } from '../store/types.js';

export type AuditValue = string | number | boolean | null;

export interface AuditEventInput {
  /** What happened, dotted: 'journey.idpChosen', 'staff.caseResolved'. */
  type: string;
  /** Journey reference. */
  journey?: string;
  /** Support case reference. */
  caseRef?: string;
  /** Staff id, 'citizen' or 'system'. */
  actor?: string;
  /** Codes only (see above). */
  data?: Record<string, AuditValue>;
}

export interface AuditEvent extends AuditEventInput {
  seq: number;
  at: string;
  prevHash: string;
  hash: string;
}

export type AuditVerifyResult = { ok: true; count: number } | { ok: false; count: number; brokenAt: number; reason: string };

export interface AuditListOptions {
  /** First sequence number to return. */
  from?: number;
  /** At most this many events (default 100, at most 1000). */
  limit?: number;
  journey?: string;
  caseRef?: string;
}

export interface AuditTrail {
  append(event: AuditEventInput): Promise<AuditEvent>;
  verify(): Promise<AuditVerifyResult>;
  list(options?: AuditListOptions): Promise<AuditEvent[]>;
  /** Remove events older than the retention from the start of the chain. Returns how many. */
  prune(): Promise<number>;
}

export interface AuditLogger {
  error(obj: object, msg?: string): void;
}

export interface AuditTrailOptions {
  store: Store;
  /** Clock in epoch ms. */
  now?: () => number;
  logger?: AuditLogger;
  /** Default 730 (policies/broker.yaml). */
  retentionDays?: number;
}

export class AuditError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditError';
  }
}

export const GENESIS_HASH = '0'.repeat(64);
const TYPE = /^[a-z][a-zA-Z0-9]*(\.[a-z][a-zA-Z0-9]*)+$/;
const SAFE = /^[A-Za-z0-9._:-]*$/;
const DATA_KEY = /^[a-zA-Z][a-zA-Z0-9_]{0,31}$/;
const MAX_DATA_KEYS = 24;
const BATCH = 200;
const MAX_ATTEMPTS = 1_000;

const KEYS = {
  event: (seq: number) => `audit:event:${seq}`,
  head: 'audit:head',
  anchor: 'audit:anchor',
  journey: (ref: string) => `audit:journey:${ref}`,
  caseRef: (ref: string) => `audit:case:${ref}`,
};

/** JSON with object keys sorted at every level and no whitespace. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function hashEvent(event: Omit<AuditEvent, 'hash'> & { hash?: string }): string {
  const { hash: _ignored, ...rest } = event;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

function checkRef(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || value.length === 0 || value.length > 64 || !SAFE.test(value)) {
    throw new AuditError(`audit: ${name} must be 1-64 characters of [A-Za-z0-9._:-]`);
  }
}

/** Validates and copies the input (only known fields). */
export function checkInput(input: AuditEventInput): AuditEventInput {
  if (!input || typeof input !== 'object') throw new AuditError('audit: event must be an object');
  if (typeof input.type !== 'string' || input.type.length > 64 || !TYPE.test(input.type)) {
    throw new AuditError(`audit: type must be dotted words like 'journey.idpChosen', got ${JSON.stringify(String(input.type).slice(0, 64))}`);
  }
  checkRef('journey', input.journey);
  checkRef('caseRef', input.caseRef);
  checkRef('actor', input.actor);
  const out: AuditEventInput = { type: input.type };
  if (input.journey !== undefined) out.journey = input.journey;
  if (input.caseRef !== undefined) out.caseRef = input.caseRef;
  if (input.actor !== undefined) out.actor = input.actor;
  if (input.data !== undefined) {
    if (!input.data || typeof input.data !== 'object' || Array.isArray(input.data)) throw new AuditError('audit: data must be an object');
    const entries = Object.entries(input.data);
    if (entries.length > MAX_DATA_KEYS) throw new AuditError(`audit: data has more than ${MAX_DATA_KEYS} fields`);
    const data: Record<string, AuditValue> = {};
    for (const [key, value] of entries) {
      if (!DATA_KEY.test(key)) throw new AuditError(`audit: data field name ${JSON.stringify(key.slice(0, 40))} is not allowed`);
      const ok =
        value === null ||
        typeof value === 'boolean' ||
        (typeof value === 'number' && Number.isFinite(value)) ||
        (typeof value === 'string' && value.length <= 64 && SAFE.test(value));
      // The value itself is never echoed: it may be exactly the personal data being refused.
      if (!ok) throw new AuditError(`audit: data.${key} must be a code (<= 64 chars of [A-Za-z0-9._:-]), a number, a boolean or null`);
      data[key] = value;
    }
    out.data = data;
  }
  return out;
}

interface Link {
  seq: number;
  hash: string;
}

function parseLink(raw: string | null): Link | undefined {
  if (raw === null) return undefined;
  const link = JSON.parse(raw) as Link;
  if (!Number.isInteger(link.seq) || link.seq < 0 || typeof link.hash !== 'string') throw new AuditError('audit: bad head or anchor record');
  return link;
}

function parseEvent(raw: string | null): AuditEvent | undefined {
  if (raw === null) return undefined;
  return JSON.parse(raw) as AuditEvent;
}

export function createAuditTrail(options: AuditTrailOptions): AuditTrail {
  const { store, logger } = options;
  const now = options.now ?? Date.now;
  const retentionDays = options.retentionDays ?? 730;
  if (!Number.isFinite(retentionDays) || retentionDays <= 0) throw new AuditError('audit: retentionDays must be positive');
  const retentionMs = retentionDays * 86_400_000;
  const ttlSeconds = retentionDays * 86_400 + 30 * 86_400;

  async function anchor(): Promise<Link> {
    return parseLink(await store.get(KEYS.anchor)) ?? { seq: 0, hash: GENESIS_HASH };
  }

  // Appends from this instance go one at a time, each from the tip this instance wrote last
  // (when that is recent): no read before the claim, and no race between our own requests.
  // Another instance's appends are still met by SET NX failing (then head, anchor and the
  // taken event are read in one round trip, and the claim moves on).
  let queue: Promise<unknown> = Promise.resolve();
  let known: { link: Link; at: number } | undefined;
  const KNOWN_FOR_MS = 10_000;

  const latest = (links: Array<Link | undefined>): Link =>
    links.filter((l): l is Link => l !== undefined).sort((a, b) => b.seq - a.seq)[0] ?? { seq: 0, hash: GENESIS_HASH };

  async function appendOne(clean: AuditEventInput): Promise<AuditEvent> {
    let tip: Link;
    if (known && Date.now() - known.at < KNOWN_FOR_MS) tip = known.link;
    else {
      const [headRaw, anchorRaw] = await store.getMany([KEYS.head, KEYS.anchor]);
      tip = latest([parseLink(headRaw), parseLink(anchorRaw)]);
    }
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const body: Omit<AuditEvent, 'hash'> = { seq: tip.seq + 1, at: new Date(now()).toISOString(), ...clean, prevHash: tip.hash };
      const event: AuditEvent = { ...body, hash: hashEvent(body) };
      if (await store.setIfAbsent(KEYS.event(event.seq), JSON.stringify(event), ttlSeconds)) {
        known = { link: { seq: event.seq, hash: event.hash }, at: Date.now() };
        const ops: WriteOp[] = [{ op: 'set', key: KEYS.head, value: JSON.stringify({ seq: event.seq, hash: event.hash }), ttlSeconds }];
        if (event.journey) ops.push({ op: 'sadd', key: KEYS.journey(event.journey), member: String(event.seq), ttlSeconds });
        if (event.caseRef) ops.push({ op: 'sadd', key: KEYS.caseRef(event.caseRef), member: String(event.seq), ttlSeconds });
        await store.write(ops);
        return event;
      }
      // Another instance took this number: chain onto the latest we can see and try the next one.
      known = undefined;
      const [headRaw, anchorRaw, takenRaw] = await store.getMany([KEYS.head, KEYS.anchor, KEYS.event(event.seq)]);
      const taken = parseEvent(takenRaw ?? null);
      tip = latest([tip, parseLink(headRaw ?? null), parseLink(anchorRaw ?? null), taken ? { seq: taken.seq, hash: taken.hash } : undefined]);
    }
    throw new AuditError('audit: could not append (too much contention)');
  }

  async function append(input: AuditEventInput): Promise<AuditEvent> {
    const clean = checkInput(input);
    const run = queue.then(() => appendOne(clean));
    queue = run.catch(() => undefined);
    try {
      return await run;
    } catch (error) {
      known = undefined;
      logger?.error({ err: { message: (error as Error).message }, type: clean.type }, 'audit: append failed');
      throw error;
    }
  }

  async function verify(): Promise<AuditVerifyResult> {
    const start = await anchor();
    const head = parseLink(await store.get(KEYS.head));
    let expectedPrev = start.hash;
    let seq = start.seq + 1;
    let count = 0;
    const broken = (at: number, reason: string): AuditVerifyResult => ({ ok: false, count, brokenAt: at, reason });
    for (;;) {
      const seqs = Array.from({ length: BATCH }, (_, i) => seq + i);
      const raws = await store.getMany(seqs.map(KEYS.event));
      for (let i = 0; i < raws.length; i++, seq++) {
        const raw = raws[i] ?? null;
        if (raw === null) {
          if (head && seq <= head.seq) return broken(seq, `event ${seq} is missing (deleted)`);
          // End of the chain. Events after a gap mean one was deleted.
          const after = await store.getMany([1, 2, 3, 4, 5, 6, 7, 8].map((d) => KEYS.event(seq + d)));
          const found = after.findIndex((v) => v !== null);
          if (found >= 0) return broken(seq, `event ${seq} is missing (deleted) but event ${seq + found + 1} exists`);
          if (head && head.seq > start.seq) {
            const headEvent = parseEvent((await store.get(KEYS.event(head.seq))) ?? null);
            if (headEvent && headEvent.hash !== head.hash) return broken(head.seq, `event ${head.seq} does not match the recorded head`);
          }
          return { ok: true, count };
        }
        let event: AuditEvent;
        try {
          event = JSON.parse(raw) as AuditEvent;
        } catch {
          return broken(seq, `event ${seq} is not valid JSON`);
        }
        if (event.seq !== seq) return broken(seq, `the event stored as ${seq} says it is ${String(event.seq)} (moved or reordered)`);
        if (event.prevHash !== expectedPrev) return broken(seq, `event ${seq} does not link to event ${seq - 1} (prevHash differs: an earlier event was changed, removed or reordered)`);
        if (hashEvent(event) !== event.hash) return broken(seq, `event ${seq} was edited (its content does not match its hash)`);
        expectedPrev = event.hash;
        count++;
      }
    }
  }

  async function list(opts: AuditListOptions = {}): Promise<AuditEvent[]> {
    const limit = Math.min(Math.max(1, Math.floor(opts.limit ?? 100)), 1_000);
    const from = Math.max(1, Math.floor(opts.from ?? 1));
    let seqs: number[];
    if (opts.journey !== undefined || opts.caseRef !== undefined) {
      checkRef('journey', opts.journey);
      checkRef('caseRef', opts.caseRef);
      const sets = await Promise.all([
        opts.journey !== undefined ? store.members(KEYS.journey(opts.journey)) : undefined,
        opts.caseRef !== undefined ? store.members(KEYS.caseRef(opts.caseRef)) : undefined,
      ]);
      const defined = sets.filter((s): s is string[] => s !== undefined).map((s) => new Set(s.map(Number)));
      seqs = [...defined[0]!].filter((s) => defined.every((d) => d.has(s)) && s >= from).sort((a, b) => a - b);
    } else {
      const start = Math.max(from, (await anchor()).seq + 1);
      seqs = Array.from({ length: limit }, (_, i) => start + i);
    }
    const events: AuditEvent[] = [];
    for (let i = 0; i < seqs.length && events.length < limit; i += BATCH) {
      const raws = await store.getMany(seqs.slice(i, i + BATCH).map(KEYS.event));
      for (const raw of raws) {
        const event = parseEvent(raw);
        if (event && events.length < limit) events.push(event);
      }
    }
    return events;
  }

  async function prune(): Promise<number> {
    const cutoff = now() - retentionMs;
    let start = await anchor();
    let pruned = 0;
    for (;;) {
      const seqs = Array.from({ length: BATCH }, (_, i) => start.seq + 1 + i);
      const events = (await store.getMany(seqs.map(KEYS.event))).map(parseEvent);
      const old: AuditEvent[] = [];
      for (const event of events) {
        if (!event || Date.parse(event.at) >= cutoff) break;
        old.push(event);
      }
      if (old.length === 0) return pruned;
      const last = old[old.length - 1]!;
      start = { seq: last.seq, hash: last.hash };
      // Anchor first, then the deletes, in two steps: on a Redis Cluster the event keys lie in
      // other hash slots than the anchor, and one write is atomic per slot only. So verify never
      // sees a gap without an anchor; if the deletes fail, the old events merely outlive the
      // anchor (verify starts from it; their store TTL still removes them).
      await store.set(KEYS.anchor, JSON.stringify(start), ttlSeconds);
      await store.del(...old.map((e) => KEYS.event(e.seq)));
      pruned += old.length;
      if (old.length < BATCH) return pruned;
    }
  }

  return { append, verify, list, prune };
}
