/**
 * Support cases: one place for every failed journey to go. A case holds the service, the IdP
 * if chosen, levels, the failed stage, a reason code, staff notes and escalations, and
 * optionally what the citizen typed (description, contact) — never verified attributes.
 * The whole record is sealed (AES-256-GCM, bound to its key), staff notes and contact details
 * with it. What the citizen typed and the staff notes (free text that can hold a phone number or a
 * date of birth) are deleted when the case closes; an open case with no activity for the policy's
 * period (`cases.inactive_close_days`) closes on its own; closed cases are purged after the
 * retention period. No case is stored for longer than it can live: an open case's TTL runs to its
 * inactive closure plus the retention period, and restarts at each change.
 */
import type { Store } from '../store/index.js';
import type { Sealer } from '../crypto/seal.js';
import { newReference, normaliseReference } from '../journey/reference.js';

export const CASE_STATUSES = ['open', 'in_progress', 'escalated', 'resolved'] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];
export const RESOLUTION_OUTCOMES = ['verified_another_way', 'matched_by_service', 'provider_fixed', 'service_fixed', 'advised_other_ways', 'no_response', 'duplicate'] as const;
export type ResolutionOutcome = (typeof RESOLUTION_OUTCOMES)[number];
/**
 * Why a case cannot wait (chosen by staff from this list; no free text, so no personal detail).
 * Urgent cases are listed first.
 */
export const URGENCY_REASONS = ['heating_or_food', 'housing', 'other_urgent'] as const;
export type UrgencyReason = (typeof URGENCY_REASONS)[number];
/** How a case can end: a staff member's outcome, or closed by the broker after no activity. */
export type CaseOutcome = ResolutionOutcome | 'closed_inactive';

export interface SupportCase {
  ref: string;
  status: CaseStatus;
  service: string;
  idp?: string;
  requested: string[];
  stage: string;
  reason: string;
  journeyRef: string;
  locale: 'en' | 'cy';
  createdAt: number;
  updatedAt: number;
  closedAt?: number;
  assignee?: string;
  escalations: Array<{ to: 'idp' | 'service'; whom: string; by: string; at: number }>;
  /** Staff notes, until the case closes. */
  notes: Array<{ by: string; at: number; text: string }>;
  outcome?: CaseOutcome;
  /** What the citizen typed, until the case closes. */
  citizen?: { description?: string; contact?: string };
  /**
   * Marked urgent by staff (why, from URGENCY_REASONS; who and when), or by the person on the help
   * form (`person_cannot_wait`, by `citizen`), until unmarked or the case closes.
   */
  urgent?: { reason: UrgencyReason | 'person_cannot_wait'; by: string; at: number };
}

const caseKey = (ref: string) => `case:{${ref}}`;
const OPEN_INDEX = 'cases:open';
const CLOSED_INDEX = 'cases:closed';
/** The index sets hold references only (no personal data); they outlive any case in them. */
const INDEX_TTL = 10 * 365 * 24 * 3600;
const DAY_MS = 86_400_000;

export interface CasesOptions {
  store: Store;
  sealer: Sealer;
  now: () => number;
  retentionDays: number;
  /** Open cases with no activity for this many days close (policy `cases.inactive_close_days`). */
  inactiveCloseDays: number;
}

export class Cases {
  constructor(private readonly o: CasesOptions) {}

  /**
   * A closed case lives until its retention ends. An open case lives until it would close for
   * want of activity and then be purged (plus a day for the job to run): if the closing job
   * never ran, the store still lets it go.
   */
  private ttlOf(c: SupportCase): number {
    const until = c.status === 'resolved' && c.closedAt !== undefined ? c.closedAt + this.o.retentionDays * DAY_MS : c.updatedAt + (this.o.inactiveCloseDays + this.o.retentionDays + 1) * DAY_MS;
    return Math.max(1, Math.ceil((until - this.o.now()) / 1000));
  }

  /** When an open case closes for want of activity (epoch ms). */
  closesInactiveAt(c: SupportCase): number {
    return c.updatedAt + this.o.inactiveCloseDays * DAY_MS;
  }

  /** When a case (and everything in it) will be deleted at the latest, as things stand (epoch ms). */
  deletedBy(c: SupportCase): number {
    return c.status === 'resolved' && c.closedAt !== undefined ? c.closedAt + this.o.retentionDays * DAY_MS : this.closesInactiveAt(c) + this.o.retentionDays * DAY_MS;
  }

  private async save(c: SupportCase): Promise<void> {
    const ttl = this.ttlOf(c);
    const closed = c.status === 'resolved';
    await this.o.store.write([
      { op: 'set', key: caseKey(c.ref), value: this.o.sealer.seal(c, caseKey(c.ref)), ttlSeconds: ttl },
      { op: 'sadd', key: closed ? CLOSED_INDEX : OPEN_INDEX, member: c.ref, ttlSeconds: INDEX_TTL },
    ]);
  }

  /**
   * Open a case. `beforeWrite` runs with the new case before anything is stored (the caller
   * audits there: if it throws, no case exists).
   */
  async open(input: Omit<SupportCase, 'ref' | 'status' | 'createdAt' | 'updatedAt' | 'escalations' | 'notes'>, beforeWrite?: (c: SupportCase) => Promise<void>): Promise<SupportCase> {
    const now = this.o.now();
    // One reference a person keeps: a case opened for a journey takes the journey's reference (the
    // one the failure page showed, the service was given as txn), so either works in the case
    // lookup. Only if that one is taken (a second case for the journey) does it get a new one.
    const journeyRef = normaliseReference(input.journeyRef);
    for (let attempt = 0; attempt < 5; attempt++) {
      const ref = attempt === 0 && journeyRef ? journeyRef : newReference(3);
      const c: SupportCase = { ...input, ref, status: 'open', createdAt: now, updatedAt: now, escalations: [], notes: [] };
      // 60 random bits: a clash is all but impossible, but never overwrite a case.
      if ((await this.o.store.get(caseKey(ref))) !== null) continue;
      await beforeWrite?.(c);
      if (await this.o.store.setIfAbsent(caseKey(ref), this.o.sealer.seal(c, caseKey(ref)), this.ttlOf(c))) {
        await this.save(c);
        return c;
      }
    }
    throw new Error('could not allocate a case reference');
  }

  /** The case for a reference as a person typed it, or undefined (also for a malformed or check-failing one). */
  async find(typed: string): Promise<SupportCase | undefined> {
    const ref = normaliseReference(typed);
    if (!ref) return undefined;
    const sealed = await this.o.store.get(caseKey(ref));
    return sealed ? this.o.sealer.open<SupportCase>(sealed, caseKey(ref)) : undefined;
  }

  /**
   * Open (not resolved) cases, urgent first and then oldest first, with optional filters. The index sets only grow
   * (members are references, not personal data); the case records decide what is listed.
   */
  async queue(filter: { service?: string; idp?: string; reason?: string; includeResolved?: boolean } = {}): Promise<SupportCase[]> {
    const refs = [...(await this.o.store.members(OPEN_INDEX)), ...(filter.includeResolved ? await this.o.store.members(CLOSED_INDEX) : [])];
    if (refs.length === 0) return [];
    const values = await this.o.store.getMany(refs.map(caseKey));
    const cases: SupportCase[] = [];
    values.forEach((v, i) => {
      if (!v) return;
      const c = this.o.sealer.open<SupportCase>(v, caseKey(refs[i]!));
      if (!filter.includeResolved && c.status === 'resolved') return;
      if (filter.service && c.service !== filter.service) return;
      if (filter.idp && c.idp !== filter.idp) return;
      if (filter.reason && c.reason !== filter.reason) return;
      cases.push(c);
    });
    return cases.sort(byUrgencyThenAge);
  }

  async update(ref: string, change: (c: SupportCase) => SupportCase): Promise<SupportCase> {
    const current = await this.find(ref);
    if (!current) throw new Error('no such case');
    const next = { ...change(current), updatedAt: this.o.now() };
    await this.save(next);
    return next;
  }

  /**
   * Resolve (close) a case: what the citizen typed (description, contact details) and the staff
   * notes are deleted now; the case is purged after retention.
   */
  resolve(ref: string, outcome: CaseOutcome, by: string): Promise<SupportCase> {
    return this.update(ref, (c) => closed(c, outcome, this.o.now(), c.assignee ?? by));
  }

  /**
   * Close every open case with no activity for `inactiveCloseDays`, dropping what the citizen
   * typed and the staff notes. `beforeClose` runs for each before it changes (the caller audits
   * there: if it throws, that case stays open and is tried again next time). Safe on every
   * instance at once (a lock in the store). Returns the references closed.
   */
  async closeInactive(beforeClose?: (c: SupportCase) => Promise<void>): Promise<string[]> {
    const lock = await this.o.store.setIfAbsent('cases:inactive-lock', String(this.o.now()), 60);
    if (!lock) return [];
    const closedRefs: string[] = [];
    try {
      const now = this.o.now();
      for (const c of await this.queue()) {
        if (this.closesInactiveAt(c) > now) continue;
        try {
          await beforeClose?.(c);
        } catch {
          continue;
        }
        await this.save({ ...closed(c, 'closed_inactive', now, c.assignee), updatedAt: now });
        closedRefs.push(c.ref);
      }
      return closedRefs;
    } finally {
      await this.o.store.del('cases:inactive-lock');
    }
  }

  reopen(ref: string): Promise<SupportCase> {
    return this.update(ref, (c) => {
      const { closedAt: _c, outcome: _o, ...rest } = c;
      void _c;
      void _o;
      return { ...rest, status: 'open' };
    });
  }

  /**
   * Remove resolved cases past retention. Safe on every instance at once: a lock in the store
   * lets one instance run at a time, and removing an already-removed case does nothing.
   */
  async purgeExpired(): Promise<number> {
    const lock = await this.o.store.setIfAbsent('cases:purge-lock', String(this.o.now()), 60);
    if (!lock) return 0;
    try {
      const refs = await this.o.store.members(CLOSED_INDEX);
      if (refs.length === 0) return 0;
      const values = await this.o.store.getMany(refs.map(caseKey));
      let purged = 0;
      const cutoff = this.o.now() - this.o.retentionDays * 86_400_000;
      const deletes: string[] = [];
      values.forEach((v, i) => {
        const ref = refs[i]!;
        if (!v) return; // gone by its TTL already
        const c = this.o.sealer.open<SupportCase>(v, caseKey(ref));
        if (c.status === 'resolved' && c.closedAt !== undefined && c.closedAt <= cutoff) {
          deletes.push(ref);
          purged++;
        }
      });
      if (deletes.length) await this.o.store.del(...deletes.map(caseKey));
      return purged;
    } finally {
      await this.o.store.del('cases:purge-lock');
    }
  }
}

/** Urgent cases first (a resolved case is never urgent), then the oldest first. */
export function byUrgencyThenAge(a: SupportCase, b: SupportCase): number {
  const urgent = (c: SupportCase) => (c.urgent && c.status !== 'resolved' ? 0 : 1);
  return urgent(a) - urgent(b) || a.createdAt - b.createdAt;
}

/** A case closed with an outcome: without what the citizen typed, the staff notes or an urgency mark. */
function closed(c: SupportCase, outcome: CaseOutcome, at: number, assignee: string | undefined): SupportCase {
  const { citizen: _citizen, assignee: _assignee, urgent: _urgent, ...rest } = c;
  void _citizen;
  void _assignee;
  void _urgent;
  return { ...rest, status: 'resolved', outcome, closedAt: at, notes: [], ...(assignee ? { assignee } : {}) };
}
