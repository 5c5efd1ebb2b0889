/** A small in-memory store for oidc-provider records, one per stub, with expiry (a stub keeps nothing for long). */
import type { Adapter, AdapterPayload } from 'oidc-provider';

interface Entry {
  payload: AdapterPayload;
  expiresAt?: number;
}

export function memoryAdapter(now: () => number = Date.now): new (name: string) => Adapter {
  const store = new Map<string, Entry>();
  const byGrant = new Map<string, Set<string>>();
  const get = (key: string): AdapterPayload | undefined => {
    const e = store.get(key);
    if (!e) return undefined;
    if (e.expiresAt !== undefined && e.expiresAt <= now()) {
      store.delete(key);
      return undefined;
    }
    return e.payload;
  };
  return class StubAdapter implements Adapter {
    constructor(private readonly name: string) {}
    private key(id: string) {
      return `${this.name}:${id}`;
    }
    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      const key = this.key(id);
      store.set(key, { payload: { ...payload }, expiresAt: expiresIn ? now() + expiresIn * 1000 : undefined });
      if (payload.grantId) {
        const set = byGrant.get(payload.grantId) ?? new Set<string>();
        set.add(key);
        byGrant.set(payload.grantId, set);
      }
      if (payload.uid) store.set(`${this.name}:uid:${payload.uid}`, { payload: { ...payload, jti: id } as AdapterPayload, expiresAt: store.get(key)!.expiresAt });
      if (payload.userCode) store.set(`${this.name}:uc:${payload.userCode}`, { payload: { ...payload, jti: id } as AdapterPayload, expiresAt: store.get(key)!.expiresAt });
    }
    async find(id: string) {
      return get(this.key(id));
    }
    async findByUid(uid: string) {
      const p = get(`${this.name}:uid:${uid}`);
      return p?.jti ? get(this.key(p.jti)) : undefined;
    }
    async findByUserCode(userCode: string) {
      const p = get(`${this.name}:uc:${userCode}`);
      return p?.jti ? get(this.key(p.jti)) : undefined;
    }
    async consume(id: string): Promise<void> {
      const p = get(this.key(id));
      if (p) p.consumed = Math.floor(now() / 1000);
    }
    async destroy(id: string): Promise<void> {
      store.delete(this.key(id));
    }
    async revokeByGrantId(grantId: string): Promise<void> {
      for (const key of byGrant.get(grantId) ?? []) store.delete(key);
      byGrant.delete(grantId);
    }
  };
}
