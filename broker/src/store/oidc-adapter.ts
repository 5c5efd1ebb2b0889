/**
 * oidc-provider's storage, backed by the broker's Store, so every broker instance sees every
 * authorization code, token, session, grant and interaction.
 *
 * Keys (before the store's prefix):
 *   oidc:rec:<Model>:<id>            the record: JSON {p: payload, e: expiry epoch ms}, sealed when a sealer is given
 *   oidc:uid:<Model>:<uid>           -> id   (findByUid, Session)
 *   oidc:ucode:<Model>:<userCode>    -> id   (findByUserCode, DeviceCode)
 *   oidc:grant:<grantId>             set of record keys in that grant (revokeByGrantId)
 *
 * On a Redis Cluster these keys fall in different hash slots (a record is found by its id, its
 * grant index by the grant id: no hash tag can join them), and a multi-key write is atomic per
 * slot only. So writes go in a fail-safe order instead of one transaction: `upsert` writes the
 * indexes first and the record last (a failed upsert leaves at most an index entry pointing at
 * nothing, never a record that `revokeByGrantId` cannot find); `revokeByGrantId` deletes the
 * records first and the grant index last (a failed revocation can be retried).
 *
 * TTLs are capped at `maxTtlSeconds` (default 5400 s = 90 minutes: DESIGN.md "What may be
 * stored, where"); a record without an expiry gets the cap.
 */
import type { Adapter, AdapterConstructor, AdapterPayload } from 'oidc-provider';
import type { Sealer } from '../crypto/seal.js';
import type { Store, WriteOp } from './types.js';

export interface OidcAdapterOptions {
  /** Seal every record (AES-256-GCM, bound to its key). Recommended: records may hold claims or interaction results. */
  sealer?: Sealer;
  /** Upper bound for any record's TTL in seconds. Default 5400. */
  maxTtlSeconds?: number;
  /** Clock in epoch ms (used to keep a record's TTL when it is consumed). */
  now?: () => number;
  /**
   * The store writes keys of different hash slots in one atomic step (one Redis node, Sentinel,
   * memory; not a Cluster): a record and its indexes then go in one write (one round trip).
   */
  oneWrite?: boolean;
  /** Records read by the caller for this request (see OidcRecords): found there without a read. */
  records?: OidcRecords;
}

/**
 * Records a request has already read, held for the rest of that request so oidc-provider's own
 * reads of them cost no round trip (the journey reads the interaction together with the journey
 * state in one MGET, then `interactionDetails` and `interactionResult` find it here). A held record
 * follows the adapter's writes to it. The caller releases it when the request ends; two requests
 * holding the same key share it until both have released it.
 */
export class OidcRecords {
  private readonly held = new Map<string, { raw: string | null; refs: number }>();
  /** The store key of a record. */
  key(model: string, id: string): string {
    return `oidc:rec:${model}:${id}`;
  }
  hold(key: string, raw: string | null): void {
    const entry = this.held.get(key);
    if (entry) {
      entry.raw = raw;
      entry.refs++;
    } else this.held.set(key, { raw, refs: 1 });
  }
  release(key: string): void {
    const entry = this.held.get(key);
    if (entry && --entry.refs <= 0) this.held.delete(key);
  }
  /** The held stored value (null: held as absent), or undefined when not held. */
  get(key: string): string | null | undefined {
    return this.held.get(key)?.raw;
  }
  private readonly deferred = new Map<string, WriteOp[]>();
  /** Keep the next writes of `key` for the caller (`take`), who writes them with its own. */
  defer(key: string): void {
    this.deferred.set(key, []);
  }
  /** The adapter's writes of `key`: kept (true) when deferred. */
  keep(key: string, ops: WriteOp[]): boolean {
    const kept = this.deferred.get(key);
    if (!kept) return false;
    kept.push(...ops);
    return true;
  }
  /** The writes kept for `key` (and the end of deferring it). */
  take(key: string): WriteOp[] {
    const kept = this.deferred.get(key) ?? [];
    this.deferred.delete(key);
    return kept;
  }
  /** A write or a delete of `key`: a holder sees it. */
  wrote(key: string, raw: string | null): void {
    const entry = this.held.get(key);
    if (entry) entry.raw = raw;
  }
}

/** Store keys of oidc-provider's records and of the session's uid index (see the header). */
export const oidcKeys = {
  record: (model: string, id: string) => `oidc:rec:${model}:${id}`,
  uid: (model: string, uid: string) => `oidc:uid:${model}:${uid}`,
};

/** Models whose records have an index to delete with them (Session: uid; DeviceCode: userCode). */
const INDEXED = new Set(['Session', 'DeviceCode']);

/** Models indexed by grant, as in oidc-provider's own adapters. */
const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

interface Wrapped {
  p: AdapterPayload;
  e: number;
}

export function createOidcAdapter(store: Store, options: OidcAdapterOptions = {}): AdapterConstructor {
  const maxTtl = options.maxTtlSeconds ?? 5_400;
  const now = options.now ?? Date.now;
  const { sealer, records } = options;
  const read = async (key: string) => {
    const held = records?.get(key);
    return held !== undefined ? held : store.get(key);
  };

  const grantKey = (grantId: string) => `oidc:grant:${grantId}`;

  function encode(key: string, wrapped: Wrapped): string {
    return sealer ? sealer.seal(wrapped, key) : JSON.stringify(wrapped);
  }
  function decode(key: string, stored: string | null): Wrapped | undefined {
    if (stored === null) return undefined;
    // With a sealer, an unsealed (or moved, or tampered) record does not open: it throws.
    return sealer ? sealer.open<Wrapped>(stored, key) : (JSON.parse(stored) as Wrapped);
  }

  return class StoreAdapter implements Adapter {
    readonly name: string;

    constructor(name: string) {
      if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9]*$/.test(name)) {
        throw new Error(`oidc adapter: bad model name ${String(name)}`);
      }
      this.name = name;
    }

    private key(id: string): string {
      return `oidc:rec:${this.name}:${id}`;
    }
    private uidKey(uid: string): string {
      return `oidc:uid:${this.name}:${uid}`;
    }
    private userCodeKey(userCode: string): string {
      return `oidc:ucode:${this.name}:${userCode}`;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      const ttl = typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0 ? Math.min(expiresIn, maxTtl) : maxTtl;
      const key = this.key(id);
      const indexes: WriteOp[] = [];
      if (GRANTABLE.has(this.name) && payload.grantId) {
        indexes.push({ op: 'sadd', key: grantKey(payload.grantId), member: key, ttlSeconds: ttl });
      }
      if (payload.uid) indexes.push({ op: 'set', key: this.uidKey(payload.uid), value: id, ttlSeconds: ttl });
      if (payload.userCode) indexes.push({ op: 'set', key: this.userCodeKey(payload.userCode), value: id, ttlSeconds: ttl });
      const value = encode(key, { p: payload, e: now() + ttl * 1000 });
      const record: WriteOp = { op: 'set', key, value, ttlSeconds: ttl };
      if (records?.keep(key, [...indexes, record])) {
        records.wrote(key, value);
        return;
      }
      if (options.oneWrite) {
        // One atomic write, indexes and record together.
        await store.write([...indexes, record]);
      } else {
        // Indexes first, the record last (see the header: safe on a cluster, where slots differ).
        if (indexes.length > 0) await store.write(indexes);
        await store.write([record]);
      }
      records?.wrote(key, value);
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      const key = this.key(id);
      return decode(key, await read(key))?.p;
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const id = await store.get(this.uidKey(uid));
      return id === null ? undefined : this.find(id);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      const id = await store.get(this.userCodeKey(userCode));
      return id === null ? undefined : this.find(id);
    }

    /** Marks the record consumed (epoch seconds) and keeps its remaining lifetime. */
    async consume(id: string): Promise<void> {
      const key = this.key(id);
      const wrapped = decode(key, await read(key));
      if (!wrapped) return;
      const remainingMs = wrapped.e - now();
      if (remainingMs <= 0) return;
      wrapped.p = { ...wrapped.p, consumed: Math.floor(now() / 1000) };
      const value = encode(key, wrapped);
      await store.set(key, value, remainingMs / 1000);
      records?.wrote(key, value);
    }

    async destroy(id: string): Promise<void> {
      const key = this.key(id);
      // A record without an index, deferred by the caller: its deletion goes with the caller's write.
      if (!INDEXED.has(this.name) && records?.keep(key, [{ op: 'del', key }])) {
        records.wrote(key, null);
        return;
      }
      let wrapped: Wrapped | undefined;
      // Only a record with an index is read first (to find the index); the rest just go.
      if (INDEXED.has(this.name)) {
        try {
          wrapped = decode(key, await read(key));
        } catch {
          wrapped = undefined; // a record that does not open is still destroyed
        }
      }
      const keys = [key];
      if (wrapped?.p.uid) keys.push(this.uidKey(wrapped.p.uid));
      if (wrapped?.p.userCode) keys.push(this.userCodeKey(wrapped.p.userCode));
      await store.del(...keys);
      records?.wrote(key, null);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      const set = grantKey(grantId);
      const members = await store.members(set);
      // Records first, the index last: a revocation that fails half way can be retried.
      if (members.length > 0) await store.del(...members);
      await store.del(set);
    }
  };
}
