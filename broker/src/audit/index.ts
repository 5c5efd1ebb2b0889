/**
 * The audit trail: append-only, hash-chained, one chain per broker instance, with signed
 * checkpoints exported outside the store (docs/adr/0005-audit-checkpoints.md).
 *
 * Events. Every event carries `chain` (the instance's chain id), `seq` (1, 2, ... within its
 * chain), `at` (ISO time), `prevHash` (the previous event's hash in the chain; 64 zeros for
 * the first) and `hash` = SHA-256 (hex) over the canonical JSON (sorted keys, no whitespace)
 * of the event without `hash`. Editing, deleting or reordering an event breaks its chain, and
 * `verify()` names the first broken link.
 *
 * Chains. Each broker instance appends to a chain of its own (default id: host name and a
 * random suffix, so a new chain per process; `chain` option / AUDIT_CHAIN_ID to fix it), so
 * instances never contend: no instance waits for another's sequence number, and on a Redis
 * Cluster the chains (keys hash-tagged by chain: `audit:{<chain>}:...`) spread over the slots.
 * `audit:chains` lists the chains; verification walks every one of them.
 *
 * One round trip per append. An append is one `store.writeIf` (a Lua script on Redis): if the
 * chain's head still is the head this instance last wrote, the event(s) and the new head are
 * written, atomically, together with the journey and case indexes; otherwise nothing of the
 * chain changes and the script answers the current head, from which the append chains on and
 * tries again (only when two processes were given the same chain id). Appends arriving while
 * one is in flight go together in the next script call (group commit), so one append costs at
 * most one round trip, and fewer under load.
 *
 * Tamper evidence beyond the store. Someone who can write to Redis can re-hash a chain after
 * an edit, or cut its tail and move its head, and the chain alone still looks whole. So each
 * instance signs checkpoints (./checkpoints.ts: ES256, with a key kept out of the store) of
 * its chain's Merkle tree head (./merkle.ts, RFC 9162), on a schedule and when it stops, and
 * exports them (a log line and an append-only file a witness copies). `verifyAudit` (and
 * `npm run audit:verify`) checks every chain against every checkpoint: an event changed (even
 * with everything re-hashed), removed, reordered or cut off before a checkpoint was signed no
 * longer matches it. Events after the last checkpoint are only as safe as the store until the
 * next one (the interval bounds that window).
 *
 * NO PERSONAL DATA. Callers pass codes, never values: `{ reason: 'no_match', idp: 'idp-a',
 * attempt: 2 }`, never a name, a birth date, an address or an NI number. To make that hard
 * to get wrong, `data` values are numbers, booleans, null, or strings of at most 64
 * characters from [A-Za-z0-9._:-] (no spaces, no '@'); references (journey, caseRef, actor)
 * follow the same rule. Anything else is refused with an AuditError.
 *
 * Fail closed: when the store is down, `append` throws and the caller's step fails.
 *
 * Retention: events are kept for `retentionDays` (policies/broker.yaml `audit.retention_days`).
 * `prune()` removes events older than that from the start of each chain and moves the chain's
 * anchor (`{seq, hash, frontier}` of the last pruned event: verification starts from it, and
 * the Merkle frontier lets later checkpoints still be checked). Each event's store TTL is the
 * retention plus 30 days, a safety net if prune never runs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { appendFile, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { JWK } from 'jose';
import { checkOps, type Store, type WriteOp } from '../store/types.js';
import { jwsDigest, publicJwk, readCheckpoints, checkpointLines, signCheckpoint, type Checkpoint, type CheckpointPayload, type WitnessedHead } from './checkpoints.js';
import { consistencyProof, Frontier, inclusionProof, leafHash, verifyConsistency, verifyInclusion } from './merkle.js';

export * from './checkpoints.js';
export { Frontier, leafHash, rootOf, inclusionProof, verifyInclusion, consistencyProof, verifyConsistency, EMPTY_ROOT } from './merkle.js';

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
  /** The chain (broker instance) the event was appended to. */
  chain: string;
  /** Position in its chain, from 1. */
  seq: number;
  at: string;
  prevHash: string;
  hash: string;
}

/** What verification found wrong, as a code (the `reason` says it in words). */
export type AuditProblem =
  | 'unreadable'
  | 'edited'
  | 'unlinked'
  | 'reordered'
  | 'missing'
  | 'cut'
  | 'rewritten'
  | 'missing-chain'
  | 'checkpoint-gap'
  | 'bad-signature'
  | 'untrusted-key'
  | 'bad-checkpoint';

export type AuditVerifyResult =
  | { ok: true; count: number }
  | { ok: false; count: number; brokenAt: number; reason: string; problem: AuditProblem; chain?: string };

/** verifyAudit's answer: the result, and what it covered. */
export type AuditReport = AuditVerifyResult & {
  chains: number;
  checkpoints: number;
  /** Events after the last checkpoint of their chain (not yet protected beyond the store). */
  uncovered: number;
};

export interface AuditListOptions {
  /** First sequence number to return (within each chain). */
  from?: number;
  /** At most this many events (default 100, at most 1000). */
  limit?: number;
  journey?: string;
  caseRef?: string;
  /** Only this chain. */
  chain?: string;
}

export interface AuditTrail {
  /** This instance's chain id. */
  readonly chain: string;
  append(event: AuditEventInput): Promise<AuditEvent>;
  /**
   * Append `events` in order and write `along` (the state they describe, e.g. the journey) in the
   * same round trip: inside the append's script, applied only when the events are, so a
   * transition is stored exactly when it is audited. On a Redis Cluster (`store.cluster`), where
   * a script cannot reach other slots, `along` is written after the events (two round trips,
   * the order of before: audited first). Rejects, writing nothing of `along`, when the append
   * fails.
   */
  appendAll(events: AuditEventInput[], along?: WriteOp[]): Promise<AuditEvent[]>;
  /** The chains in the store, and the checkpoints of this trail's file (when it has one). */
  verify(): Promise<AuditVerifyResult>;
  /** Events in time order (chains merged). */
  list(options?: AuditListOptions): Promise<AuditEvent[]>;
  /** Remove events older than the retention from the start of every chain. Returns how many. */
  prune(): Promise<number>;
  /** This chain's tree head now: size, Merkle root and the last event's hash. */
  treeHead(): Promise<{ chain: string; size: number; root: string; head: string }>;
  /** Sign and export a checkpoint now (needs `checkpoints`). Undefined when nothing moved since the last one. */
  checkpoint(options?: { final?: boolean }): Promise<string | undefined>;
  /** Stop the checkpoint schedule and export a final checkpoint. */
  close(): Promise<void>;
}

export interface AuditLogger {
  error(obj: object, msg?: string): void;
  info?(obj: object, msg?: string): void;
}

export interface AuditCheckpointOptions {
  /** The private ES256 JWK that signs (with a kid). Kept out of the store. */
  signingKey: JWK;
  /** Public JWKs trusted when verifying (default: the signing key's public part). */
  trustedKeys?: JWK[];
  /** Append-only file: one signed checkpoint (compact JWS) per line. */
  file?: string;
  /** Sign one this often (ms). Default 60 000; 0: only on demand and at close. */
  intervalMs?: number;
}

export interface AuditTrailOptions {
  store: Store;
  /** Clock in epoch ms. */
  now?: () => number;
  logger?: AuditLogger;
  /** Default 730 (policies/broker.yaml). */
  retentionDays?: number;
  /** This instance's chain id (1-64 of [A-Za-z0-9._:-]). Default: host name + random suffix. */
  chain?: string;
  /** Signed checkpoints. Without them the trail is only as tamper-evident as the store. */
  checkpoints?: AuditCheckpointOptions;
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
/** Events one append script carries at most (group commit). */
const GROUP = 64;
const MAX_ATTEMPTS = 100;

/** Store keys. A chain's keys share its hash tag, so one script covers them on a Cluster. */
export const AUDIT_KEYS = {
  chains: 'audit:chains',
  event: (chain: string, seq: number) => `audit:{${chain}}:event:${seq}`,
  head: (chain: string) => `audit:{${chain}}:head`,
  anchor: (chain: string) => `audit:{${chain}}:anchor`,
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

export function hashEvent(event: Omit<AuditEvent, 'hash' | 'chain'> & { hash?: string; chain?: string }): string {
  const { hash: _ignored, ...rest } = event;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

/** The Merkle leaf of an event: H(0x00 || canonical JSON of the whole event, hash included). */
export function eventLeaf(event: AuditEvent): Buffer {
  return leafHash(canonicalJson(event));
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

/** A chain id for this process: the host name (made safe) and 8 random hex digits. */
export function defaultChainId(): string {
  const host = hostname().replace(/[^A-Za-z0-9.-]/g, '-').slice(0, 40) || 'broker';
  return `${host}-${randomBytes(4).toString('hex')}`;
}

interface Link {
  seq: number;
  hash: string;
}

interface Anchor extends Link {
  /** Merkle frontier of events 1..seq (hex), so the tree continues after pruning. */
  frontier: string[];
}

function parseLink(raw: string | null | undefined): Link | undefined {
  if (raw === null || raw === undefined) return undefined;
  const link = JSON.parse(raw) as Link;
  if (!Number.isInteger(link.seq) || link.seq < 0 || typeof link.hash !== 'string') throw new AuditError('audit: bad head or anchor record');
  return link;
}

function parseAnchor(raw: string | null | undefined): Anchor | undefined {
  const link = parseLink(raw) as Anchor | undefined;
  if (link && !Array.isArray(link.frontier)) throw new AuditError('audit: bad anchor record');
  return link;
}

function parseEvent(raw: string | null | undefined): AuditEvent | undefined {
  if (raw === null || raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as AuditEvent;
  } catch {
    return undefined;
  }
}

/** Events in time order; within a chain by seq. */
function byTime(a: AuditEvent, b: AuditEvent): number {
  if (a.at !== b.at) return a.at < b.at ? -1 : 1;
  if (a.chain !== b.chain) return a.chain < b.chain ? -1 : 1;
  return a.seq - b.seq;
}

const indexMember = (event: Pick<AuditEvent, 'chain' | 'seq'>) => `${event.chain}/${event.seq}`;

export function createAuditTrail(options: AuditTrailOptions): AuditTrail {
  const { store, logger } = options;
  const now = options.now ?? Date.now;
  const retentionDays = options.retentionDays ?? 730;
  if (!Number.isFinite(retentionDays) || retentionDays <= 0) throw new AuditError('audit: retentionDays must be positive');
  const retentionMs = retentionDays * 86_400_000;
  const ttlSeconds = retentionDays * 86_400 + 30 * 86_400;
  const chain = options.chain ?? defaultChainId();
  checkRef('chain', chain);
  const cp = options.checkpoints;
  const trustedKeys = cp ? (cp.trustedKeys ?? [publicJwk(cp.signingKey)]) : [];

  // What this instance knows of its own chain: the head it last wrote (or read), and the
  // Merkle frontier of events 1..frontier.size (it may lag the head when another process
  // wrote to this chain, or after a restart with a fixed chain id: treeHead() catches up).
  let tip: Link | undefined;
  let frontier = new Frontier();
  let registered = false;

  // Group commit: appends wait here while one script call is in flight. An entry's events go
  // into one script call together, with its `along` writes.
  type Entry = { inputs: AuditEventInput[]; along: WriteOp[]; resolve: (e: AuditEvent[]) => void; reject: (e: unknown) => void };
  let pending: Entry[] = [];
  const alongInScript = !store.cluster;
  let flushing = false;

  const headValue = (link: Link) => JSON.stringify({ seq: link.seq, hash: link.hash });

  async function writeGroup(inputs: AuditEventInput[], along: WriteOp[] = []): Promise<AuditEvent[]> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const from = tip ?? { seq: 0, hash: GENESIS_HASH };
      const at = new Date(now()).toISOString();
      const events: AuditEvent[] = [];
      let prev = from;
      for (const input of inputs) {
        const body: Omit<AuditEvent, 'hash'> = { chain, seq: prev.seq + 1, at, ...input, prevHash: prev.hash };
        const event: AuditEvent = { ...body, hash: hashEvent(body) };
        events.push(event);
        prev = { seq: event.seq, hash: event.hash };
      }
      const ops: WriteOp[] = events.map((e) => ({ op: 'set', key: AUDIT_KEYS.event(chain, e.seq), value: JSON.stringify(e), ttlSeconds }));
      ops.push({ op: 'set', key: AUDIT_KEYS.head(chain), value: headValue(prev), ttlSeconds });
      ops.push(...along);
      const always: WriteOp[] = [];
      for (const e of events) {
        if (e.journey) always.push({ op: 'sadd', key: AUDIT_KEYS.journey(e.journey), member: indexMember(e), ttlSeconds });
        if (e.caseRef) always.push({ op: 'sadd', key: AUDIT_KEYS.caseRef(e.caseRef), member: indexMember(e), ttlSeconds });
      }
      if (!registered) always.push({ op: 'sadd', key: AUDIT_KEYS.chains, member: chain, ttlSeconds });
      const result = await store.writeIf({ key: AUDIT_KEYS.head(chain), equals: tip ? headValue(tip) : null }, ops, always);
      registered = true;
      if (result.written) {
        if (frontier.size === from.seq) for (const e of events) frontier.push(eventLeaf(e));
        tip = prev;
        return events;
      }
      // The chain moved (another process with this chain id, or a restart with a fixed id):
      // chain onto what is there. A head that vanished is rewritten from what this instance knows.
      const current = parseLink(result.current);
      if (current) tip = current;
    }
    throw new AuditError('audit: could not append (the chain keeps moving: is AUDIT_CHAIN_ID shared by several processes?)');
  }

  async function flush(): Promise<void> {
    if (flushing) return;
    flushing = true;
    try {
      while (pending.length > 0) {
        // Whole entries, up to GROUP events (an entry with more goes alone).
        let take = 0;
        for (let n = 0; take < pending.length && (take === 0 || n + pending[take]!.inputs.length <= GROUP); take++) n += pending[take]!.inputs.length;
        const group = pending.slice(0, take);
        pending = pending.slice(take);
        try {
          const events = await writeGroup(
            group.flatMap((p) => p.inputs),
            alongInScript ? group.flatMap((p) => p.along) : [],
          );
          let at = 0;
          for (const p of group) {
            const own = events.slice(at, (at += p.inputs.length));
            if (alongInScript || p.along.length === 0) p.resolve(own);
            else store.write(p.along).then(() => p.resolve(own), p.reject);
          }
        } catch (error) {
          // Unknown outcome (the store failed mid-call): read the head again next time.
          tip = undefined;
          registered = false;
          for (const p of group) p.reject(error);
        }
      }
    } finally {
      flushing = false;
    }
  }

  async function appendAll(inputs: AuditEventInput[], along: WriteOp[] = []): Promise<AuditEvent[]> {
    const clean = inputs.map(checkInput);
    checkOps(along); // a bad write fails its own caller, not the group it would have joined
    if (clean.length === 0) {
      if (along.length) await store.write(along);
      return [];
    }
    const done = new Promise<AuditEvent[]>((resolve, reject) => pending.push({ inputs: clean, along, resolve, reject }));
    void flush();
    try {
      return await done;
    } catch (error) {
      logger?.error({ err: { message: (error as Error).message }, type: clean.map((c) => c.type).join(',') }, 'audit: append failed');
      throw error;
    }
  }

  async function append(input: AuditEventInput): Promise<AuditEvent> {
    return (await appendAll([input]))[0]!;
  }

  /** Bring the frontier up to the chain's head, reading the events it has not seen. */
  async function catchUp(): Promise<{ size: number; head: string }> {
    await flushed();
    const [headRaw, anchorRaw] = await store.getMany([AUDIT_KEYS.head(chain), AUDIT_KEYS.anchor(chain)]);
    const head = parseLink(headRaw) ?? { seq: 0, hash: GENESIS_HASH };
    const anchor = parseAnchor(anchorRaw);
    if (frontier.size < (anchor?.seq ?? 0)) frontier = Frontier.fromHex(anchor!.seq, anchor!.frontier);
    let prevHash: string | undefined;
    while (frontier.size < head.seq) {
      const seqs = Array.from({ length: Math.min(BATCH, head.seq - frontier.size) }, (_, i) => frontier.size + 1 + i);
      const events = (await store.getMany(seqs.map((s) => AUDIT_KEYS.event(chain, s)))).map(parseEvent);
      for (const [i, event] of events.entries()) {
        if (!event || event.seq !== seqs[i] || hashEvent(event) !== event.hash || (prevHash !== undefined && event.prevHash !== prevHash)) {
          throw new AuditError(`audit: chain ${chain} is broken at event ${seqs[i]}: not checkpointing it (run npm run audit:verify)`);
        }
        frontier.push(eventLeaf(event));
        prevHash = event.hash;
      }
    }
    if (!tip || tip.seq < head.seq) tip = head;
    return { size: head.seq, head: head.hash };
  }

  /** Resolves when no append of this instance is waiting or in flight. */
  async function flushed(): Promise<void> {
    while (flushing || pending.length > 0) await new Promise((r) => setTimeout(r, 1));
  }

  async function treeHead() {
    const { size, head } = await catchUp();
    return { chain, size, root: frontier.root().toString('hex'), head };
  }

  // --- checkpoints -------------------------------------------------------------------------
  let last: { n: number; jws: string; size: number } | undefined;
  const witnessedSizes = new Map<string, number>();
  let checkpointing: Promise<string | undefined> = Promise.resolve(undefined);
  let closed = false;

  async function witness(): Promise<WitnessedHead[]> {
    const chains = (await store.members(AUDIT_KEYS.chains)).filter((c) => c !== chain).sort();
    if (chains.length === 0) return [];
    const heads = await store.getMany(chains.map(AUDIT_KEYS.head));
    const out: WitnessedHead[] = [];
    chains.forEach((c, i) => {
      const head = parseLink(heads[i]);
      if (head && head.seq > 0 && head.seq !== witnessedSizes.get(c)) out.push({ chain: c, size: head.seq, head: head.hash });
    });
    return out;
  }

  async function signNow(final: boolean): Promise<string | undefined> {
    if (!cp) throw new AuditError('audit: no checkpoint key configured');
    const head = await treeHead();
    const witnessed = await witness();
    if (!final && last && last.size === head.size && witnessed.length === 0) return undefined;
    const payload: CheckpointPayload = {
      v: 1,
      chain,
      n: (last?.n ?? 0) + 1,
      size: head.size,
      root: head.root,
      head: head.head,
      at: new Date(now()).toISOString(),
      prev: last ? jwsDigest(last.jws) : null,
      ...(final ? { final: true as const } : {}),
      witnessed,
    };
    const jws = await signCheckpoint(payload, cp.signingKey);
    // Exported before it counts as written: a file line a witness copies, and a log line.
    if (cp.file) await appendFile(cp.file, `${jws}\n`, { encoding: 'utf8', flag: 'a', mode: 0o644 });
    logger?.info?.({ auditCheckpoint: jws, chain, n: payload.n, size: payload.size, root: payload.root, final }, 'audit checkpoint');
    last = { n: payload.n, jws, size: head.size };
    for (const w of witnessed) witnessedSizes.set(w.chain, w.size);
    return jws;
  }

  function checkpoint(opts: { final?: boolean } = {}): Promise<string | undefined> {
    const run = checkpointing.catch(() => undefined).then(() => signNow(opts.final === true));
    checkpointing = run;
    return run;
  }

  let timer: NodeJS.Timeout | undefined;
  if (cp && (cp.intervalMs ?? 60_000) > 0) {
    timer = setInterval(() => {
      checkpoint().catch((error: unknown) => logger?.error({ err: { message: (error as Error).message }, chain }, 'audit: checkpoint failed'));
    }, cp.intervalMs ?? 60_000);
    timer.unref();
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    if (timer) clearInterval(timer);
    if (cp && (tip || last)) await checkpoint({ final: true });
  }

  // --- reading --------------------------------------------------------------------------------
  async function chains(): Promise<string[]> {
    return (await store.members(AUDIT_KEYS.chains)).sort();
  }

  async function list(opts: AuditListOptions = {}): Promise<AuditEvent[]> {
    const limit = Math.min(Math.max(1, Math.floor(opts.limit ?? 100)), 1_000);
    const from = Math.max(1, Math.floor(opts.from ?? 1));
    checkRef('chain', opts.chain);
    let keys: Array<{ chain: string; seq: number }>;
    if (opts.journey !== undefined || opts.caseRef !== undefined) {
      checkRef('journey', opts.journey);
      checkRef('caseRef', opts.caseRef);
      const sets = await Promise.all([
        opts.journey !== undefined ? store.members(AUDIT_KEYS.journey(opts.journey)) : undefined,
        opts.caseRef !== undefined ? store.members(AUDIT_KEYS.caseRef(opts.caseRef)) : undefined,
      ]);
      const defined = sets.filter((s): s is string[] => s !== undefined).map((s) => new Set(s));
      keys = [...defined[0]!]
        .filter((m) => defined.every((d) => d.has(m)))
        .map((m) => {
          const at = m.lastIndexOf('/');
          return { chain: m.slice(0, at), seq: Number(m.slice(at + 1)) };
        })
        .filter((k) => Number.isInteger(k.seq) && k.seq >= from && (opts.chain === undefined || k.chain === opts.chain));
    } else {
      const names = opts.chain !== undefined ? [opts.chain] : await chains();
      const anchors = await store.getMany(names.map(AUDIT_KEYS.anchor));
      keys = names.flatMap((c, i) => {
        const start = Math.max(from, (parseAnchor(anchors[i])?.seq ?? 0) + 1);
        return Array.from({ length: limit }, (_, j) => ({ chain: c, seq: start + j }));
      });
    }
    const events: AuditEvent[] = [];
    for (let i = 0; i < keys.length; i += BATCH) {
      const part = keys.slice(i, i + BATCH);
      const raws = await store.getMany(part.map((k) => AUDIT_KEYS.event(k.chain, k.seq)));
      raws.forEach((raw, j) => {
        const event = parseEvent(raw);
        // Index entries are hints: the event itself must say it belongs.
        if (!event || event.chain !== part[j]!.chain || event.seq !== part[j]!.seq) return;
        if (opts.journey !== undefined && event.journey !== opts.journey) return;
        if (opts.caseRef !== undefined && event.caseRef !== opts.caseRef) return;
        events.push(event);
      });
    }
    return events.sort(byTime).slice(0, limit);
  }

  async function prune(): Promise<number> {
    await flushed();
    const cutoff = now() - retentionMs;
    let pruned = 0;
    for (const c of await chains()) {
      let start: Anchor = parseAnchor(await store.get(AUDIT_KEYS.anchor(c))) ?? { seq: 0, hash: GENESIS_HASH, frontier: [] };
      const tree = Frontier.fromHex(start.seq, start.frontier);
      for (;;) {
        const seqs = Array.from({ length: BATCH }, (_, i) => start.seq + 1 + i);
        const events = (await store.getMany(seqs.map((s) => AUDIT_KEYS.event(c, s)))).map(parseEvent);
        const old: AuditEvent[] = [];
        for (const event of events) {
          if (!event || Date.parse(event.at) >= cutoff) break;
          old.push(event);
        }
        if (old.length === 0) break;
        for (const e of old) tree.push(eventLeaf(e));
        const lastOld = old[old.length - 1]!;
        start = { seq: lastOld.seq, hash: lastOld.hash, frontier: tree.toHex() };
        // Anchor first, then the deletes: verification never sees a gap without an anchor; if
        // the deletes fail, the old events merely outlive the anchor (their TTL removes them).
        await store.set(AUDIT_KEYS.anchor(c), JSON.stringify(start), ttlSeconds);
        await store.del(...old.map((e) => AUDIT_KEYS.event(c, e.seq)));
        pruned += old.length;
        if (old.length < BATCH) break;
      }
    }
    return pruned;
  }

  async function verify(): Promise<AuditVerifyResult> {
    await flushed();
    const lines: Array<{ text: string; source: string }> = [];
    if (cp?.file) {
      const text = await readFile(cp.file, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return '';
        throw error;
      });
      lines.push(...checkpointLines(cp.file, text));
    }
    const { chains: _c, checkpoints: _k, uncovered: _u, ...result } = await verifyAudit({ store, checkpoints: lines, trustedKeys });
    return result as AuditVerifyResult;
  }

  return {
    chain,
    append,
    appendAll,
    verify,
    list,
    prune,
    treeHead,
    checkpoint: (o) => (cp ? checkpoint(o) : Promise.reject(new AuditError('audit: no checkpoint key configured'))),
    close,
  };
}

export interface VerifyAuditOptions {
  store: Store;
  /** Checkpoint lines (compact JWS), each with where it came from. */
  checkpoints?: Array<{ text: string; source: string }>;
  /** Public keys whose checkpoints are trusted. */
  trustedKeys?: JWK[];
}

/**
 * Check every chain in the store, and every checkpoint given, and name the first problem:
 * a checkpoint that is forged or signed by an untrusted key; a chain's event unreadable,
 * edited, out of place, missing, or not linked to the one before; a chain shorter than a
 * checkpoint (or another instance's witness) says it was; a chain whose events, though linked,
 * are not the ones a checkpoint signed (edited and re-hashed); a chain a checkpoint names that
 * is gone; a checkpoint missing from a chain's sequence.
 */
export async function verifyAudit(options: VerifyAuditOptions): Promise<AuditReport> {
  const { store } = options;
  const { checkpoints, problems } = await readCheckpoints(options.checkpoints ?? [], options.trustedKeys ?? []);
  let count = 0;
  const fail = (problem: AuditProblem, reason: string, brokenAt = 0, chain?: string): AuditReport => ({
    ok: false,
    count,
    brokenAt,
    reason,
    problem,
    ...(chain !== undefined ? { chain } : {}),
    chains: 0,
    checkpoints: checkpoints.length,
    uncovered: 0,
  });
  const bad = problems[0];
  if (bad) return fail(bad.problem, bad.reason);

  // What each chain must be: its own signed tree heads by size, and the heads others witnessed.
  interface Claim {
    size: number;
    head: string;
    root?: string;
    by: string;
  }
  const claims = new Map<string, Claim[]>();
  const claim = (c: string, x: Claim) => (claims.get(c) ?? claims.set(c, []).get(c)!).push(x);
  const own = new Map<string, Checkpoint[]>();
  for (const k of checkpoints) {
    (own.get(k.chain) ?? own.set(k.chain, []).get(k.chain)!).push(k);
    claim(k.chain, { size: k.size, head: k.head, root: k.root, by: `checkpoint ${k.n} of chain ${k.chain} (${k.at}, ${k.source})` });
    for (const w of k.witnessed) claim(w.chain, { size: w.size, head: w.head, by: `checkpoint ${k.n} of chain ${k.chain} (${k.at}, ${k.source}), which saw it,` });
  }
  // Each chain's checkpoints form a sequence (n = 1, 2, ..., each naming the previous).
  for (const [c, list] of own) {
    const seen = new Map<number, Checkpoint>();
    for (const k of list) seen.set(k.n, k);
    const sorted = [...seen.values()].sort((a, b) => a.n - b.n);
    for (let i = 0; i < sorted.length; i++) {
      const k = sorted[i]!;
      const before = sorted[i - 1];
      if (before && k.n === before.n + 1 && k.prev !== jwsDigest(before.jws)) {
        return fail('checkpoint-gap', `checkpoint ${k.n} of chain ${c} (${k.source}) does not follow checkpoint ${before.n} (${before.source}): one of them was replaced`, 0, c);
      }
      if (before && k.n > before.n + 1) {
        return fail('checkpoint-gap', `checkpoints ${before.n + 1} to ${k.n - 1} of chain ${c} are missing from the copies given (between ${before.source} and ${k.source})`, 0, c);
      }
      if (before && k.size < before.size) {
        return fail('cut', `checkpoint ${k.n} of chain ${c} (${k.source}) covers ${k.size} events, fewer than checkpoint ${before.n} (${before.size})`, k.size + 1, c);
      }
    }
  }

  const inStore = await store.members(AUDIT_KEYS.chains);
  const names = [...new Set([...inStore, ...claims.keys()])].sort();
  let uncovered = 0;
  for (const c of names) {
    const wanted = (claims.get(c) ?? []).sort((a, b) => a.size - b.size);
    const [headRaw, anchorRaw] = await store.getMany([AUDIT_KEYS.head(c), AUDIT_KEYS.anchor(c)]);
    const head = parseLink(headRaw);
    const anchor = parseAnchor(anchorRaw);
    if (!inStore.includes(c) && !head && !anchor) {
      const first = wanted[wanted.length - 1]!;
      return fail('missing-chain', `chain ${c} is gone from the store, but ${first.by} says it held ${first.size} events`, 1, c);
    }
    const start = anchor ?? { seq: 0, hash: GENESIS_HASH, frontier: [] };
    const tree = Frontier.fromHex(start.seq, start.frontier);
    let expectedPrev = start.hash;
    let seq = start.seq + 1;
    let w = 0;
    // Claims about events before the anchor (pruned) cannot be checked any more.
    while (w < wanted.length && wanted[w]!.size < start.seq) w++;
    const checkClaims = (): AuditReport | undefined => {
      for (; w < wanted.length && wanted[w]!.size === tree.size; w++) {
        const x = wanted[w]!;
        if (x.size === 0) continue;
        if (x.head !== expectedPrev || (x.root !== undefined && x.root !== tree.root().toString('hex'))) {
          const after = w > 0 ? wanted[w - 1]!.size : start.seq;
          return fail(
            'rewritten',
            `events ${after + 1} to ${x.size} are not the ones ${x.by} vouches for: an event was changed and the chain re-hashed after it`,
            after + 1,
            c,
          );
        }
      }
      return undefined;
    };
    const early = checkClaims();
    if (early) return early;
    for (;;) {
      const seqs = Array.from({ length: BATCH }, (_, i) => seq + i);
      const raws = await store.getMany(seqs.map((s) => AUDIT_KEYS.event(c, s)));
      let ended = false;
      for (let i = 0; i < raws.length; i++, seq++) {
        const raw = raws[i] ?? null;
        if (raw === null) {
          if (head && seq <= head.seq) return fail('missing', `event ${seq} is missing (deleted)`, seq, c);
          const after = await store.getMany([1, 2, 3, 4, 5, 6, 7, 8].map((d) => AUDIT_KEYS.event(c, seq + d)));
          const found = after.findIndex((v) => v !== null);
          if (found >= 0) return fail('missing', `event ${seq} is missing (deleted) but event ${seq + found + 1} exists`, seq, c);
          const promised = wanted[wanted.length - 1];
          if (promised && promised.size >= seq) {
            return fail('cut', `chain ${c} ends at event ${seq - 1}, but ${promised.by} says it held ${promised.size}: events ${seq} to ${promised.size} were removed`, seq, c);
          }
          if (head && head.seq > start.seq && head.seq === seq - 1 && head.hash !== expectedPrev) {
            return fail('edited', `event ${head.seq} does not match the recorded head`, head.seq, c);
          }
          ended = true;
          break;
        }
        let event: AuditEvent;
        try {
          event = JSON.parse(raw) as AuditEvent;
        } catch {
          return fail('unreadable', `event ${seq} is not valid JSON`, seq, c);
        }
        if (event.seq !== seq || event.chain !== c) {
          return fail('reordered', `the event stored as ${seq} says it is ${String(event.chain)} ${String(event.seq)} (moved or reordered)`, seq, c);
        }
        if (event.prevHash !== expectedPrev) {
          return fail('unlinked', `event ${seq} does not link to event ${seq - 1} (prevHash differs: an earlier event was changed, removed or reordered)`, seq, c);
        }
        if (hashEvent(event) !== event.hash) return fail('edited', `event ${seq} was edited (its content does not match its hash)`, seq, c);
        expectedPrev = event.hash;
        tree.push(eventLeaf(event));
        count++;
        const wrong = checkClaims();
        if (wrong) return wrong;
      }
      if (ended) break;
    }
    const covered = own.get(c)?.reduce((m, k) => Math.max(m, k.size), 0) ?? 0;
    uncovered += Math.max(0, tree.size - Math.max(covered, start.seq));
  }
  return { ok: true, count, chains: names.length, checkpoints: checkpoints.length, uncovered };
}

/** The leaves of events 1..size of a chain (all must be in the store, none pruned). */
async function chainLeaves(store: Store, chain: string, size: number): Promise<Buffer[]> {
  const leaves: Buffer[] = [];
  for (let seq = 1; seq <= size; seq += BATCH) {
    const seqs = Array.from({ length: Math.min(BATCH, size - seq + 1) }, (_, i) => seq + i);
    const events = (await store.getMany(seqs.map((s) => AUDIT_KEYS.event(chain, s)))).map(parseEvent);
    events.forEach((event, i) => {
      if (!event || event.seq !== seqs[i]) throw new AuditError(`audit: event ${seqs[i]} of chain ${chain} is not in the store (pruned or removed)`);
      leaves.push(eventLeaf(event));
    });
  }
  return leaves;
}

/** An RFC 9162 inclusion proof of one event in a checkpoint's tree: hashes only, nothing of other events. */
export interface EventInclusionProof {
  chain: string;
  seq: number;
  /** The tree size (the checkpoint's `size`). */
  size: number;
  /** Audit path, hex. */
  path: string[];
}

export async function proveInclusion(store: Store, event: Pick<AuditEvent, 'chain' | 'seq'>, size: number): Promise<EventInclusionProof> {
  if (!Number.isInteger(size) || event.seq < 1 || event.seq > size) throw new AuditError(`audit: event ${event.seq} is not within a tree of ${size}`);
  const leaves = await chainLeaves(store, event.chain, size);
  return { chain: event.chain, seq: event.seq, size, path: inclusionProof(leaves, event.seq - 1).map((h) => h.toString('hex')) };
}

/** Does `proof` show `event` (as the holder has it) in the tree the signed checkpoint names? */
export function verifyEventInclusion(event: AuditEvent, proof: EventInclusionProof, checkpoint: Pick<CheckpointPayload, 'chain' | 'size' | 'root'>): boolean {
  if (event.chain !== proof.chain || event.seq !== proof.seq || checkpoint.chain !== proof.chain || checkpoint.size !== proof.size) return false;
  if (hashEvent(event) !== event.hash) return false;
  return verifyInclusion(eventLeaf(event), event.seq - 1, proof.size, proof.path.map((h) => Buffer.from(h, 'hex')), Buffer.from(checkpoint.root, 'hex'));
}

/** RFC 9162 consistency proof between two checkpoints of one chain (sizes m <= n), hex. */
export async function proveConsistency(store: Store, chain: string, m: number, n: number): Promise<string[]> {
  const leaves = await chainLeaves(store, chain, n);
  return consistencyProof(leaves, m).map((h) => h.toString('hex'));
}

/** Is the later checkpoint an append-only extension of the earlier one? */
export function verifyCheckpointConsistency(earlier: Pick<CheckpointPayload, 'chain' | 'size' | 'root'>, later: Pick<CheckpointPayload, 'chain' | 'size' | 'root'>, proof: string[]): boolean {
  if (earlier.chain !== later.chain) return false;
  return verifyConsistency(earlier.size, later.size, Buffer.from(earlier.root, 'hex'), Buffer.from(later.root, 'hex'), proof.map((h) => Buffer.from(h, 'hex')));
}
