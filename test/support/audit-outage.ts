/**
 * Make only the audit trail's writes fail on a running broker, while the rest of its store
 * keeps working: the audit trail claims each event with `setIfAbsent('audit:event:<seq>')`,
 * so refusing exactly those calls makes `audit.append` throw and nothing else.
 *
 *   const outage = auditOutage(fed.brokers[0]!.store);
 *   try { ...a step that must fail closed... ; expect(outage.refused).toBeGreaterThan(0) } finally { outage.end() }
 *
 * (A store outage is no substitute: the request then fails earlier, loading the journey or the
 * session, and would pass even if audit errors were swallowed.)
 */
interface ClaimingStore {
  setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean>;
}

export function auditOutage(store: ClaimingStore): { readonly refused: number; end(): void } {
  const own = Object.prototype.hasOwnProperty.call(store, 'setIfAbsent');
  const original = store.setIfAbsent;
  let refused = 0;
  store.setIfAbsent = function (this: ClaimingStore, key, value, ttlSeconds) {
    if (key.startsWith('audit:')) {
      refused++;
      return Promise.reject(new Error('audit outage (test): the audit store refused the write'));
    }
    return original.call(this, key, value, ttlSeconds);
  };
  return {
    get refused() {
      return refused;
    },
    end() {
      if (own) store.setIfAbsent = original;
      else delete (store as Partial<ClaimingStore>).setIfAbsent;
    },
  };
}
