/**
 * The broker's storage contract. Every piece of broker state lives behind this interface,
 * so any broker instance can serve any step of any journey (docs: DESIGN.md "Scale").
 *
 * TTLs are in seconds and must be positive and finite; fractions are allowed (they are
 * rounded up to whole milliseconds). Nothing is stored without a TTL.
 */
export type WriteOp =
  | { op: 'set'; key: string; value: string; ttlSeconds: number }
  | { op: 'del'; key: string }
  /** Add a member to a set. The set then lives at least `ttlSeconds` from now: its TTL is extended, never shortened. */
  | { op: 'sadd'; key: string; member: string; ttlSeconds: number }
  /** Set the TTL of an existing key (string or set). No effect on an absent key. */
  | { op: 'expire'; key: string; ttlSeconds: number };

/** What `writeIf` answers: whether its guarded writes were applied, and what the guard key held before. */
export interface WriteIfResult {
  written: boolean;
  current: string | null;
}

export interface Store {
  readonly kind: 'memory' | 'redis';
  /**
   * True on a Redis Cluster: one write is atomic per hash slot only, and `writeIf`'s guarded ops
   * must share the guard's slot. Elsewhere (memory, one node, Sentinel) a write or a `writeIf`
   * covers any keys, all or nothing.
   */
  readonly cluster?: boolean;
  get(key: string): Promise<string | null>;
  getMany(keys: string[]): Promise<(string | null)[]>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  /** Set only if absent (single-use markers, replay defence). True when set. */
  setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean>;
  /** Read and delete in one step (GETDEL): single-use values. */
  take(key: string): Promise<string | null>;
  del(...keys: string[]): Promise<void>;
  /** Several writes in ONE round trip (a Redis MULTI pipeline); all or nothing where Redis allows. */
  write(ops: WriteOp[]): Promise<void>;
  /**
   * Compare and write, in ONE round trip (a Lua script on Redis): when `guard.key` holds
   * exactly `guard.equals` (null: the key is absent), apply `ops` in order, atomically, and
   * answer `written: true`; otherwise apply none of them and answer `written: false`. Either
   * way `current` is what the guard key held, and the `always` ops are applied too (in the
   * same round trip: inside the script on one node; on a Cluster, those outside the guard's
   * slot in parallel with it, one MULTI per slot).
   * On a Cluster every key of `ops` must share the guard key's hash slot (a StoreError
   * otherwise): give them one hash tag.
   */
  writeIf(guard: { key: string; equals: string | null }, ops: WriteOp[], always?: WriteOp[]): Promise<WriteIfResult>;
  members(key: string): Promise<string[]>;
  /** Atomic counter with a window (rate limits): returns the count after increment. The window starts at the first increment. */
  increment(key: string, windowSeconds: number): Promise<number>;
  ping(): Promise<void>;
  /** Every key and value held (for the privacy scan in tests and for diagnostics). Values of sets listed as members. Keys without the prefix. */
  dump(): AsyncIterable<{ key: string; value: string }>;
  close(): Promise<void>;
  /**
   * Requests sent to the store so far, counted on the client side: `roundTrips` counts a
   * pipeline or a MULTI/EXEC once; `commands` counts every command in it (MULTI and EXEC too).
   * Redis stores only (the benchmark and /metrics read it); `dump` is not counted.
   */
  stats?(): StoreStats;
}

export interface StoreStats {
  roundTrips: number;
  commands: number;
}

/** Minimal pino-compatible logger. */
export interface StoreLogger {
  warn(obj: object, msg?: string): void;
}

export interface StoreOptions {
  /**
   * Redis URL (`redis://`, `rediss://`): one node. Without it (and without `redisCluster` or
   * `redisSentinel`) the store is in memory (one process only). Give at most one of the three.
   */
  redisUrl?: string;
  /** A Redis Cluster: some or all nodes as `redis://[user:password@]host:port`; the rest are discovered. */
  redisCluster?: { nodes: string[] };
  /** A master managed by Redis Sentinel: Sentinels as `host:port`, and the master group name. */
  redisSentinel?: { sentinels: string[]; name: string; username?: string; password?: string; sentinelPassword?: string };
  /** Prefix for every Redis key. Default `idb:`. Ignored by the memory store. */
  keyPrefix?: string;
  /** Clock in epoch milliseconds for the memory store's TTLs. Redis uses its own clock. */
  now?: () => number;
  /** Where connection errors are reported (never with values). */
  logger?: StoreLogger;
}

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

/** TTL in seconds -> milliseconds, rejecting anything that would store without expiry. */
export function ttlMs(ttlSeconds: number, what = 'ttlSeconds'): number {
  if (typeof ttlSeconds !== 'number' || !Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
    throw new StoreError(`${what} must be a positive number of seconds, got ${String(ttlSeconds)}`);
  }
  return Math.max(1, Math.ceil(ttlSeconds * 1000));
}

export function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new StoreError('store key must be a non-empty string');
}

export function checkOps(ops: WriteOp[]): void {
  if (!Array.isArray(ops)) throw new StoreError('write(ops) needs an array');
  for (const op of ops) {
    checkKey(op.key);
    switch (op.op) {
      case 'set':
        if (typeof op.value !== 'string') throw new StoreError(`write: value for ${op.key} must be a string`);
        ttlMs(op.ttlSeconds);
        break;
      case 'sadd':
        if (typeof op.member !== 'string') throw new StoreError(`write: member for ${op.key} must be a string`);
        ttlMs(op.ttlSeconds);
        break;
      case 'expire':
        ttlMs(op.ttlSeconds);
        break;
      case 'del':
        break;
      default:
        throw new StoreError(`write: unknown op ${String((op as { op: unknown }).op)}`);
    }
  }
}
