/**
 * The citizen's own record (identity assurance principles: access, and portability): with a
 * journey or case reference, everything the federation holds about it, in plain words, and as
 * a JSON download. It is built from what is kept anyway (the case, the audit trail); nothing is
 * stored for it.
 *
 * A reference is also known to the service (it receives the journey reference as `txn`, and a
 * case reference with a failure), so this page shows nothing a service must not learn: not which
 * identity provider was used, and not the free text of a case (the citizen's description and
 * contact details, staff notes), which it names as held, with when it goes, without showing it.
 */
import type { Policies } from '@idbroker/policies';
import type { AuditEvent, AuditTrail } from '../audit/index.js';
import { normaliseReference } from '../journey/reference.js';
import { releasedFromAudit } from '../journey/journeys.js';
import type { Cases, SupportCase } from './cases.js';

/** Audit event types the record explains in plain words (locale keys `record.event.<type with _>`). */
export const EXPLAINED_EVENTS = [
  'journey.started',
  'journey.idpChosen',
  'journey.idpReturned',
  'journey.idpFailed',
  'journey.anotherProviderRequested',
  'journey.noProviderUsable',
  'journey.consentGiven',
  'journey.consentRefused',
  'journey.extraAttributeNeeded',
  'journey.extraAttributeGiven',
  'journey.extraAttributeDeclined',
  'journey.matched',
  'journey.accountCreated',
  'journey.signedInWithoutMatching',
  'journey.notMatched',
  'journey.matchingFailed',
  'journey.timedOut',
  'journey.delivered',
  'case.opened',
  'case.openedByService',
  'case.closedInactive',
  'staff.viewedCase',
  'staff.note',
  'staff.escalate',
  'staff.assign',
  'staff.resolve',
  'staff.reopen',
  'staff.urgent',
  'staff.notUrgent',
  'staff.denied',
] as const;

export interface CitizenRecord {
  reference: string;
  kind: 'journey' | 'case';
  generatedAt: string;
  /** The service the journey was for (its name). */
  service: string;
  journeyRef?: string;
  timeline: Array<{ at: string; event: string; explained: boolean }>;
  /** What was released to whom, by attribute name. */
  released: Array<{ to: string; attributes: string[]; at: string }>;
  supportCase?: {
    ref: string;
    status: SupportCase['status'];
    outcome?: string;
    openedAt: string;
    lastActivityAt: string;
    closedAt?: string;
    /** What the citizen typed is held (not shown: the service knows this reference too). */
    holdsDescription: boolean;
    holdsContact: boolean;
    staffNotes: number;
    /** When an open case closes for want of activity (what the citizen typed goes then). */
    closesIfNoActivityAt?: string;
    /** When the case is deleted at the latest. */
    deletedBy: string;
  };
  /** An identity provider was used (which one is not shown). */
  providerUsed: boolean;
  /** The journey's own state: gone once the service had its result, or by this time at the latest. */
  journeyState: 'deleted';
  /** The audit events above are kept until (then deleted). */
  auditKeptUntil: string;
}

export interface RecordOptions {
  cases: Cases;
  audit: AuditTrail;
  policies: Policies;
  now: () => number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The record for a reference as typed, or undefined when the federation holds nothing under it. */
export async function citizenRecord(o: RecordOptions, typed: string): Promise<CitizenRecord | undefined> {
  const ref = normaliseReference(typed);
  if (!ref) return undefined;
  const supportCase = await o.cases.find(ref);
  const journeyRef = supportCase?.journeyRef ?? ref;
  const journeyEvents = await o.audit.list({ journey: journeyRef, limit: 1000 });
  if (!supportCase && journeyEvents.length === 0) return undefined;
  const caseRef = supportCase?.ref ?? journeyEvents.find((e) => e.caseRef)?.caseRef;
  const theCase = supportCase ?? (caseRef ? await o.cases.find(caseRef) : undefined);
  const caseEvents = caseRef ? await o.audit.list({ caseRef, limit: 1000 }) : [];
  const events = [...journeyEvents, ...caseEvents].filter((e, i, all) => all.findIndex((x) => x.seq === e.seq) === i).sort((a, b) => a.seq - b.seq);

  const serviceId = (theCase?.service ?? events.find((e) => typeof e.data?.client === 'string')?.data?.client) as string | undefined;
  const serviceName = serviceId ? (o.policies.relyingParty(serviceId)?.display_name ?? serviceId) : '';
  const released = events
    .filter((e) => e.type === 'journey.delivered')
    .map((e: AuditEvent) => ({ to: serviceName, attributes: releasedFromAudit(e.data as Record<string, unknown>), at: e.at }));
  const retentionDays = o.policies.broker.audit.retention_days;
  const last = events.length ? Date.parse(events[events.length - 1]!.at) : o.now();
  return {
    reference: ref,
    kind: supportCase ? 'case' : 'journey',
    generatedAt: iso(o.now()),
    service: serviceName,
    ...(journeyEvents.length || supportCase ? { journeyRef } : {}),
    timeline: events.map((e) => ({ at: e.at, event: e.type, explained: (EXPLAINED_EVENTS as readonly string[]).includes(e.type) })),
    released,
    ...(theCase
      ? {
          supportCase: {
            ref: theCase.ref,
            status: theCase.status,
            ...(theCase.outcome ? { outcome: theCase.outcome } : {}),
            openedAt: iso(theCase.createdAt),
            lastActivityAt: iso(theCase.updatedAt),
            ...(theCase.closedAt !== undefined ? { closedAt: iso(theCase.closedAt) } : {}),
            holdsDescription: Boolean(theCase.citizen?.description),
            holdsContact: Boolean(theCase.citizen?.contact),
            staffNotes: theCase.notes.length,
            ...(theCase.status !== 'resolved' ? { closesIfNoActivityAt: iso(o.cases.closesInactiveAt(theCase)) } : {}),
            deletedBy: iso(o.cases.deletedBy(theCase)),
          },
        }
      : {}),
    providerUsed: events.some((e) => typeof e.data?.idp === 'string' && e.data.idp !== ''),
    journeyState: 'deleted',
    auditKeptUntil: iso(last + retentionDays * 86_400_000),
  };
}
