/**
 * Support cases: one place for every failed journey to go. A case holds the service, the IdP
 * if chosen, levels, the failed stage, a reason code, staff notes and escalations, and
 * optionally what the citizen typed (description, contact) — never verified attributes.
 * The whole record is sealed (AES-256-GCM, bound to its key); the contact details are
 * deleted when the case closes, and closed cases are purged after the retention period.
 */
import type { Store } from '../store/index.js';
import type { Sealer } from '../crypto/seal.js';
import { newReference, normaliseReference } from '../journey/reference.js';

export const CASE_STATUSES = ['open', 'in_progress', 'escalated', 'resolved'] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];
export const RESOLUTION_OUTCOMES = ['verified_another_way', 'matched_by_service', 'provider_fixed', 'service_fixed', 'advised_other_ways', 'no_response', 'duplicate'] as const;
export type ResolutionOutcome = (typeof RESOLUTION_OUTCOMES)[number];

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
  notes: Array<{ by: string; at: number; text: string }>;
  outcome?: ResolutionOutcome;
  /** What the citizen typed, until the case closes. */
  citizen?: { description?: string; contact?: string };
}

const caseKey = (ref: string) => `case:{${ref}}`;
const OPEN_INDEX = 'cases:open';
const CLOSED_INDEX = 'cases:closed';
/** Open cases are kept until they close (the store needs a TTL: ten years). */
const OPEN_TTL = 10 * 365 * 24 * 3600;

export interface CasesOptions {
  store: Store;
  sealer: Sealer;
  now: () => number;
  retentionDays: number;
}

export class Cases {
  constructor(private readonly o: CasesOptions) {}

  private ttlOf(c: SupportCase): number {
    if (c.status !== 'resolved' || c.closedAt === undefined) return OPEN_TTL;
    return Math.max(1, Math.ceil((c.closedAt + this.o.retentionDays * 86_400_000 - this.o.now()) / 1000));
  }

  private async save(c: SupportCase): Promise<void> {
    const ttl = this.ttlOf(c);
    const closed = c.status === 'resolved';
    await this.o.store.write([
      { op: 'set', key: caseKey(c.ref), value: this.o.sealer.seal(c, caseKey(c.ref)), ttlSeconds: ttl },
      { op: 'sadd', key: closed ? CLOSED_INDEX : OPEN_INDEX, member: c.ref, ttlSeconds: OPEN_TTL },
    ]);
  }

  /**
   * Open a case. `beforeWrite` runs with the new case before anything is stored (the caller
   * audits there: if it throws, no case exists).
   */
  async open(input: Omit<SupportCase, 'ref' | 'status' | 'createdAt' | 'updatedAt' | 'escalations' | 'notes'>, beforeWrite?: (c: SupportCase) => Promise<void>): Promise<SupportCase> {
    const now = this.o.now();
    for (let attempt = 0; attempt < 5; attempt++) {
      const ref = newReference(3);
      const c: SupportCase = { ...input, ref, status: 'open', createdAt: now, updatedAt: now, escalations: [], notes: [] };
      // 60 random bits: a clash is all but impossible, but never overwrite a case.
      if ((await this.o.store.get(caseKey(ref))) !== null) continue;
      await beforeWrite?.(c);
      if (await this.o.store.setIfAbsent(caseKey(ref), this.o.sealer.seal(c, caseKey(ref)), OPEN_TTL)) {
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
   * Open (not resolved) cases, oldest first, with optional filters. The index sets only grow
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
    return cases.sort((a, b) => a.createdAt - b.createdAt);
  }

  async update(ref: string, change: (c: SupportCase) => SupportCase): Promise<SupportCase> {
    const current = await this.find(ref);
    if (!current) throw new Error('no such case');
    const next = { ...change(current), updatedAt: this.o.now() };
    await this.save(next);
    return next;
  }

  /** Resolve (close) a case: the citizen's contact details are deleted now; the case is purged after retention. */
  resolve(ref: string, outcome: ResolutionOutcome, by: string): Promise<SupportCase> {
    return this.update(ref, (c) => {
      const { citizen: _dropped, ...rest } = c;
      void _dropped;
      return { ...rest, status: 'resolved', outcome, closedAt: this.o.now(), notes: c.notes, assignee: c.assignee ?? by };
    });
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
