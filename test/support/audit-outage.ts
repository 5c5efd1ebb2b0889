/**
 * Make only the audit trail's writes fail on a running broker, while the rest of its store
 * keeps working: the audit trail appends with `writeIf` guarded by its chain's head
 * (`audit:{<chain>}:head`), so refusing exactly those calls makes `audit.append` throw and
 * nothing else.
 *
 *   const outage = auditOutage(fed.brokers[0]!.store);
 *   try { ...a step that must fail closed... ; expect(outage.refused).toBeGreaterThan(0) } finally { outage.end() }
 *
 * (A store outage is no substitute: the request then fails earlier, loading the journey or the
 * session, and would pass even if audit errors were swallowed.)
 */
import type { Broker } from '@idbroker/broker';

type ClaimingStore = Pick<Broker['store'], 'writeIf'>;

export function auditOutage(store: ClaimingStore): { readonly refused: number; end(): void } {
  const own = Object.prototype.hasOwnProperty.call(store, 'writeIf');
  const original = store.writeIf;
  let refused = 0;
  store.writeIf = function (this: ClaimingStore, guard, ops, always) {
    if (guard.key.startsWith('audit:')) {
      refused++;
      return Promise.reject(new Error('audit outage (test): the audit store refused the write'));
    }
    return original.call(this, guard, ops, always);
  };
  return {
    get refused() {
      return refused;
    },
    end() {
      if (own) store.writeIf = original;
      else delete (store as Partial<ClaimingStore>).writeIf;
    },
  };
}
