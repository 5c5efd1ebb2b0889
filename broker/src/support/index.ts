/**
 * Support and disputes: cases opened from failed journeys, a status page for citizens, and
 * the staff console. Every staff action, allowed or refused, goes into the audit trail, and
 * takes effect only once it is there. The pages and actions are one module each in ./pages,
 * wired in one table (./routes.ts).
 */
import type Router from '@koa/router';
import type { JourneySupport } from '../journey/routes.js';
import { Cases } from './cases.js';
import { Staff } from './staff.js';
import { createSupportKit, type SupportOptions } from './pages/support-kit.js';
import { supportRouter } from './routes.js';

export { Cases } from './cases.js';
export { Staff, ROLES, type Role } from './staff.js';
export type { SupportOptions } from './pages/support-kit.js';

export interface Support {
  cases: Cases;
  staff: Staff;
  journeySupport: JourneySupport;
  router: Router;
  purgeExpired(): Promise<number>;
  /** Close open cases with no activity for the policy's period (audited, one event per case). Returns their references. */
  closeInactive(): Promise<string[]>;
  /** Run closeInactive and purgeExpired every `intervalMs` (unref'd). Returns a stop function. */
  startPurgeJob(intervalMs?: number): () => void;
}

export function createSupport(o: SupportOptions): Support {
  const retentionDays = o.policies.broker.cases.retention_days;
  const inactiveCloseDays = o.policies.broker.cases.inactive_close_days;
  const cases = new Cases({ store: o.store, sealer: o.sealer, now: o.now, retentionDays, inactiveCloseDays });
  // Audit first: a case whose event cannot be written stays open until the next run.
  const closeInactive = () =>
    cases.closeInactive(async (c) => {
      await o.audit.append({ type: 'case.closedInactive', journey: c.journeyRef, caseRef: c.ref, actor: 'system', data: { days: inactiveCloseDays, status: c.status } });
    }).then((refs) => {
      for (const _ of refs) o.metrics?.caseResolved('closed_inactive');
      return refs;
    });
  const staff = new Staff({ store: o.store, sealer: o.sealer, issuer: o.issuer, now: o.now });

  const journeySupport: JourneySupport = {
    async openCase(input) {
      // Audit first: if the event cannot be written, no case exists and the journey fails closed.
      const c = await cases.open(
        {
          service: input.clientId,
          ...(input.idpId ? { idp: input.idpId } : {}),
          requested: input.requested,
          stage: input.stage,
          reason: input.reason,
          journeyRef: input.journeyRef,
          locale: input.locale,
          // The person said they cannot wait: urgent from the start (staff may change why, or unmark it).
          ...(input.cannotWait ? { urgent: { reason: 'person_cannot_wait' as const, by: 'citizen', at: o.now() } } : {}),
          ...(input.description || input.contact ? { citizen: { ...(input.description ? { description: input.description } : {}), ...(input.contact ? { contact: input.contact } : {}) } } : {}),
        },
        async (opened) => {
          await o.audit.append({ type: 'case.opened', journey: input.journeyRef, caseRef: opened.ref, actor: 'citizen', data: { client: input.clientId, reason: input.reason, stage: input.stage, ...(input.cannotWait ? { urgency: 'person_cannot_wait' } : {}) } });
        },
      );
      o.metrics?.caseOpened(input.clientId);
      return { reference: c.ref };
    },
  };

  const router = supportRouter(createSupportKit(o, cases, staff));

  return {
    cases,
    staff,
    journeySupport,
    router,
    purgeExpired: () => cases.purgeExpired(),
    closeInactive,
    startPurgeJob(intervalMs = 3600_000) {
      const timer = setInterval(
        () =>
          void closeInactive()
            .catch(() => undefined)
            .then(() => cases.purgeExpired())
            .catch(() => undefined),
        intervalMs,
      );
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
