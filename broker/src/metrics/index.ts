/**
 * Metrics for operators (prom-client at /metrics) and the public performance page. Labels
 * are codes only: service client ids, IdP ids, outcomes. Never anything about a person, and
 * never an IdP and a service in one series (test/privacy/observer.test.ts).
 *
 * Counters in prom-client are per instance (Prometheus sums them). The public page needs
 * the whole federation's last day, so finished journeys are also counted in hourly buckets
 * in the shared store.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Store } from '../store/index.js';
import type { JourneyState } from '../journey/journey-state.js';

export const OUTCOMES_OK = ['matched', 'accountCreated', 'signedIn'] as const;

export interface JourneyObserver {
  transitioned(previous: JourneyState | undefined, next: JourneyState, event: string): void;
}

export interface Metrics extends JourneyObserver {
  readonly registry: Registry;
  observeRequest(route: string, method: string, status: number, seconds: number): void;
  caseOpened(service: string): void;
  caseResolved(outcome: string): void;
  /** Finished journeys per IdP over the last `hours` hours, from the shared store. */
  perIdp(idps: string[], hours?: number): Promise<Array<{ idp: string; succeeded: number; failed: number; byReason: Record<string, number> }>>;
}

export interface MetricsOptions {
  store: Store;
  now: () => number;
  /** Health of each IdP: 1 up, 0 down. */
  idpHealth: () => Array<{ idp: string; up: boolean }>;
  /** Days until each IdP's certification ends. */
  certification: () => Array<{ idp: string; daysLeft: number }>;
  /** Days until each service's keys expire (services that declare keys_expire). */
  serviceKeys?: () => Array<{ service: string; daysLeft: number }>;
  logger?: { warn(obj: object, msg?: string): void };
  /** Node process metrics too (default true). */
  processMetrics?: boolean;
}

const REASONS = ['cancelled', 'no_match', 'level_not_met', 'provider_failed', 'fraud_flagged', 'timed_out', 'matching_failed', 'no_provider'];
/** Journey events that carry a service's matching answer. */
const MATCHING_EVENTS: Record<string, string> = {
  matched: 'match',
  accountCreated: 'created',
  notMatched: 'no-match',
  extraAttributeNeeded: 'need-attribute',
  matchingFailed: 'failed',
};
const hourOf = (ms: number) => Math.floor(ms / 3_600_000);

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'broker_' });

  const started = new Counter({ name: 'broker_journeys_started_total', help: 'Journeys started, by service', labelNames: ['service'], registers: [registry] });
  // Finished journeys are counted by provider and by service, never both in one series: a series
  // that paired them would tell whoever reads it which provider a service's users chose.
  const finishedByIdp = new Counter({
    name: 'broker_idp_journeys_finished_total',
    help: 'Journeys finished, by IdP (none: before one was chosen) and outcome (matched, accountCreated, signedIn, or a failure reason)',
    labelNames: ['idp', 'outcome'],
    registers: [registry],
  });
  const finishedByService = new Counter({
    name: 'broker_service_journeys_finished_total',
    help: 'Journeys finished, by service and outcome (matched, accountCreated, signedIn, or a failure reason)',
    labelNames: ['service', 'outcome'],
    registers: [registry],
  });
  const transitions = new Counter({ name: 'broker_journey_transitions_total', help: 'Journey transitions, by event', labelNames: ['event'], registers: [registry] });
  const matchingOutcomes = new Counter({ name: 'broker_matching_outcomes_total', help: 'Answers from services matching endpoints', labelNames: ['service', 'result'], registers: [registry] });
  const casesOpened = new Counter({ name: 'broker_cases_opened_total', help: 'Support cases opened, by service', labelNames: ['service'], registers: [registry] });
  const casesResolved = new Counter({ name: 'broker_cases_resolved_total', help: 'Support cases resolved, by outcome', labelNames: ['outcome'], registers: [registry] });
  const latency = new Histogram({
    name: 'broker_http_request_duration_seconds',
    help: 'HTTP request latency, by route template',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  new Gauge({
    name: 'broker_idp_up',
    help: 'Whether the broker currently considers each IdP reachable (circuit closed)',
    labelNames: ['idp'],
    registers: [registry],
    collect() {
      for (const h of options.idpHealth()) this.set({ idp: h.idp }, h.up ? 1 : 0);
    },
  });
  new Gauge({
    name: 'broker_idp_certification_days_left',
    help: 'Days until each IdP certification ends',
    labelNames: ['idp'],
    registers: [registry],
    collect() {
      for (const c of options.certification()) this.set({ idp: c.idp }, c.daysLeft);
    },
  });

  new Gauge({
    name: 'broker_service_keys_days_left',
    help: 'Days until each service keys expire (from keys_expire in its policy)',
    labelNames: ['service'],
    registers: [registry],
    collect() {
      for (const k of options.serviceKeys?.() ?? []) this.set({ service: k.service }, k.daysLeft);
    },
  });

  const record = (idp: string, outcome: string) => {
    const hour = hourOf(options.now());
    options.store.increment(`stats:{${hour}}:${idp}:${outcome}`, 26 * 3600).catch((e: Error) => options.logger?.warn({ err: e.message }, 'could not count a finished journey'));
  };

  return {
    registry,
    transitioned(previous, next, event) {
      transitions.inc({ event });
      const matchingResult = MATCHING_EVENTS[event];
      if (matchingResult) matchingOutcomes.inc({ service: next.clientId, result: matchingResult });
      if (!previous) started.inc({ service: next.clientId });
      const finishedNow = (next.name === 'complete' || next.name === 'failed') && previous?.name !== next.name;
      if (!finishedNow) return;
      const idp = 'idpId' in next && next.idpId ? next.idpId : 'none';
      const outcome = next.name === 'complete' ? next.outcome : next.reason;
      finishedByIdp.inc({ idp, outcome });
      finishedByService.inc({ service: next.clientId, outcome });
      record(idp, outcome);
    },
    observeRequest(route, method, status, seconds) {
      latency.observe({ route, method, status: String(status) }, seconds);
    },
    caseOpened(service) {
      casesOpened.inc({ service });
    },
    caseResolved(outcome) {
      casesResolved.inc({ outcome });
    },
    async perIdp(idps, hours = 24) {
      const now = hourOf(options.now());
      const outcomes = [...OUTCOMES_OK, ...REASONS];
      const keys: string[] = [];
      for (const idp of idps) for (let h = now - hours + 1; h <= now; h++) for (const o of outcomes) keys.push(`stats:{${h}}:${idp}:${o}`);
      const values = keys.length ? await options.store.getMany(keys) : [];
      const totals = new Map<string, Record<string, number>>();
      keys.forEach((key, i) => {
        const [, , idp, outcome] = key.split(':') as [string, string, string, string];
        const n = Number(values[i] ?? 0);
        if (!n) return;
        const t = totals.get(idp) ?? {};
        t[outcome] = (t[outcome] ?? 0) + n;
        totals.set(idp, t);
      });
      return idps.map((idp) => {
        const t = totals.get(idp) ?? {};
        const succeeded = OUTCOMES_OK.reduce((s, o) => s + (t[o] ?? 0), 0);
        const byReason = Object.fromEntries(REASONS.filter((r) => t[r]).map((r) => [r, t[r]!]));
        const failed = Object.values(byReason).reduce((s, n) => s + n, 0);
        return { idp, succeeded, failed, byReason };
      });
    },
  };
}
