/**
 * In-memory store: the default for `npm start` without Redis, and for unit tests.
 * One process only. TTLs follow an injectable clock: expired entries are dropped when read
 * and by a periodic sweep (unref'd, so it never keeps the process alive).
 */
import { checkKey, checkOps, StoreError, ttlMs, type Store, type WriteOp } from './types.js';

type Entry =
  | { kind: 'string'; value: string; expiresAt: number }
  | { kind: 'set'; members: Set<string>; expiresAt: number };

export interface MemoryStoreOptions {
  now?: () => number;
  /** How often expired entries are swept, in ms. Default 60 000. */
  sweepIntervalMs?: number;
}

export function createMemoryStore(options: MemoryStoreOptions = {}): Store & { size(): number } {
  const now = options.now ?? Date.now;
  const data = new Map<string, Entry>();
  let closed = false;

  const sweep = setInterval(() => {
    const t = now();
    for (const [key, entry] of data) if (entry.expiresAt <= t) data.delete(key);
  }, options.sweepIntervalMs ?? 60_000);
  sweep.unref();

  function open(): void {
    if (closed) throw new StoreError('store is closed');
  }

  function live(key: string): Entry | undefined {
    const entry = data.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= now()) {
      data.delete(key);
      return undefined;
    }
    return entry;
  }

  function wrongType(key: string): StoreError {
    return new StoreError(`WRONGTYPE: ${key} holds a different kind of value`);
  }

  function getString(key: string): string | null {
    const entry = live(key);
    if (!entry) return null;
    if (entry.kind !== 'string') throw wrongType(key);
    return entry.value;
  }

  /** Apply one checked op. Throws only for type clashes, which are checked beforehand in write(). */
  function apply(op: WriteOp): void {
    switch (op.op) {
      case 'set':
        data.set(op.key, { kind: 'string', value: op.value, expiresAt: now() + ttlMs(op.ttlSeconds) });
        return;
      case 'del':
        data.delete(op.key);
        return;
      case 'sadd': {
        const until = now() + ttlMs(op.ttlSeconds);
        const entry = live(op.key);
        if (!entry) {
          data.set(op.key, { kind: 'set', members: new Set([op.member]), expiresAt: until });
        } else if (entry.kind === 'set') {
          entry.members.add(op.member);
          entry.expiresAt = Math.max(entry.expiresAt, until);
        } else {
          throw wrongType(op.key);
        }
        return;
      }
      case 'expire': {
        const entry = live(op.key);
        if (entry) entry.expiresAt = now() + ttlMs(op.ttlSeconds);
        return;
      }
    }
  }

  return {
    kind: 'memory',
    async get(key) {
      open();
      checkKey(key);
      return getString(key);
    },
    async getMany(keys) {
      open();
      keys.forEach(checkKey);
      // Like MGET: a key holding a set reads as null.
      return keys.map((key) => {
        const entry = live(key);
        return entry?.kind === 'string' ? entry.value : null;
      });
    },
    async set(key, value, ttlSeconds) {
      open();
      checkOps([{ op: 'set', key, value, ttlSeconds }]);
      apply({ op: 'set', key, value, ttlSeconds });
    },
    async setIfAbsent(key, value, ttlSeconds) {
      open();
      checkOps([{ op: 'set', key, value, ttlSeconds }]);
      if (live(key)) return false;
      apply({ op: 'set', key, value, ttlSeconds });
      return true;
    },
    async take(key) {
      open();
      checkKey(key);
      const value = getString(key);
      if (value !== null) data.delete(key);
      return value;
    },
    async del(...keys) {
      open();
      keys.forEach(checkKey);
      for (const key of keys) data.delete(key);
    },
    async write(ops) {
      open();
      checkOps(ops);
      // All or nothing: check type clashes against the state as it will be, before changing anything.
      const kinds = new Map<string, 'string' | 'set' | undefined>();
      const kindOf = (key: string) => (kinds.has(key) ? kinds.get(key) : live(key)?.kind);
      for (const op of ops) {
        if (op.op === 'set') kinds.set(op.key, 'string');
        else if (op.op === 'del') kinds.set(op.key, undefined);
        else if (op.op === 'sadd') {
          const kind = kindOf(op.key);
          if (kind === 'string') throw wrongType(op.key);
          kinds.set(op.key, 'set');
        }
      }
      for (const op of ops) apply(op);
    },
    async writeIf(guard, ops, always = []) {
      open();
      checkKey(guard.key);
      checkOps(ops);
      checkOps(always);
      const current = getString(guard.key);
      const written = current === guard.equals;
      const all = written ? [...ops, ...always] : always;
      // Type clashes are checked before anything changes, as in write().
      for (const op of all) if (op.op === 'sadd' && live(op.key)?.kind === 'string' && !all.some((o) => o.key === op.key && o.op !== 'sadd')) throw wrongType(op.key);
      for (const op of all) apply(op);
      return { written, current };
    },
    async members(key) {
      open();
      checkKey(key);
      const entry = live(key);
      if (!entry) return [];
      if (entry.kind !== 'set') throw wrongType(key);
      return [...entry.members];
    },
    async increment(key, windowSeconds) {
      open();
      checkKey(key);
      const window = ttlMs(windowSeconds, 'windowSeconds');
      const entry = live(key);
      if (!entry) {
        data.set(key, { kind: 'string', value: '1', expiresAt: now() + window });
        return 1;
      }
      if (entry.kind !== 'string' || !/^-?\d+$/.test(entry.value)) {
        throw new StoreError(`increment: ${key} does not hold a counter`);
      }
      const next = Number(entry.value) + 1;
      entry.value = String(next);
      return next;
    },
    async ping() {
      open();
    },
    async *dump() {
      open();
      for (const key of [...data.keys()]) {
        const entry = live(key);
        if (!entry) continue;
        if (entry.kind === 'string') yield { key, value: entry.value };
        else for (const member of entry.members) yield { key, value: member };
      }
    },
    async close() {
      closed = true;
      clearInterval(sweep);
      data.clear();
    },
    size() {
      return data.size;
    },
  };
}
