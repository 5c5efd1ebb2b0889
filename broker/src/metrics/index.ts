/**
 * Metrics for operators (prom-client at /metrics) and the public performance page. Labels
 * are codes only: service client ids, IdP ids, outcomes. Never anything about a person, and
 * never an IdP and a service in one series (test/privacy/observer.test.ts).
 *
 * Counters in prom-client are per instance (Prometheus sums them). The public page needs
 * the whole federation's closed days, so finished journeys are also counted per IdP in daily
 * (UTC) buckets in the shared store; the page reads only days that have ended.
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
  /**
   * Finished journeys per IdP and outcome over the `days` whole UTC days before today (today,
   * still open, is never read), from the shared store.
   */
  closedDays(idps: string[], days: number): Promise<ClosedDays>;
}

export interface ClosedDays {
  /** The first and last day covered (YYYY-MM-DD, UTC). */
  from: string;
  to: string;
  rows: Array<{ idp: string; outcomes: Record<string, number> }>;
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
  /** Requests this instance sent to the store so far (Redis stores count them: Store.stats). */
  storeStats?: () => { roundTrips: number; commands: number };
}

export const REASONS = ['cancelled', 'no_match', 'level_not_met', 'provider_failed', 'fraud_flagged', 'timed_out', 'matching_failed', 'no_provider'];
/** Journey events that carry a service's matching answer. */
const MATCHING_EVENTS: Record<string, string> = {
  matched: 'match',
  accountCreated: 'created',
  notMatched: 'no-match',
  extraAttributeNeeded: 'need-attribute',
  matchingFailed: 'failed',
};
const DAY_MS = 86_400_000;
const dayOf = (ms: number) => Math.floor(ms / DAY_MS);
const dateOf = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);
/** Daily buckets outlive the widest window policy allows (31 days), with a day to spare. */
const BUCKET_TTL_SECONDS = 33 * 86_400;
const bucketKey = (day: number, idp: string, outcome: string) => `stats:{d${day}}:${idp}:${outcome}`;

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

  if (options.storeStats) {
    const storeStats = options.storeStats;
    new Counter({
      name: 'broker_store_round_trips_total',
      help: 'Requests sent to the store and awaited by this instance (a pipeline or MULTI/EXEC counts once)',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(storeStats().roundTrips);
      },
    });
    new Counter({
      name: 'broker_store_commands_total',
      help: 'Store commands sent by this instance (every command of a pipeline or MULTI/EXEC, MULTI and EXEC included)',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(storeStats().commands);
      },
    });
  }

  const record = (idp: string, outcome: string) => {
    options.store.increment(bucketKey(dayOf(options.now()), idp, outcome), BUCKET_TTL_SECONDS).catch((e: Error) => options.logger?.warn({ err: e.message }, 'could not count a finished journey'));
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
    async closedDays(idps, days) {
      const today = dayOf(options.now());
      const outcomes = [...OUTCOMES_OK, ...REASONS];
      const wanted: Array<{ idp: string; outcome: string; key: string }> = [];
      for (const idp of idps) for (let d = today - days; d < today; d++) for (const outcome of outcomes) wanted.push({ idp, outcome, key: bucketKey(d, idp, outcome) });
      const values = wanted.length ? await options.store.getMany(wanted.map((w) => w.key)) : [];
      const totals = new Map<string, Record<string, number>>(idps.map((idp) => [idp, {}]));
      wanted.forEach((w, i) => {
        const n = Number(values[i] ?? 0);
        if (!n) return;
        const t = totals.get(w.idp)!;
        t[w.outcome] = (t[w.outcome] ?? 0) + n;
      });
      return { from: dateOf(today - days), to: dateOf(today - 1), rows: idps.map((idp) => ({ idp, outcomes: totals.get(idp)! })) };
    },
  };
}
