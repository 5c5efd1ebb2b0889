/** The data each page is rendered from. Values are escaped by the templates. */
import type { ErrorReason } from '@idbroker/relying-party-sdk/protocol';
import type { CitizenRecord } from '../support/record.js';
import type { CertificationView } from './certification.js';

export type FailureReasonCode = ErrorReason;
export interface Way {
  text: string;
  href?: string;
}

export interface PageModels {
  /** The wallet's presentation request: open the wallet on this device, or scan the QR code with another. */
  wallet: {
    provider: { name: string };
    sameDeviceHref: string;
    qrDataUri?: string;
    continueAction?: string;
    anotherAction: string;
    notYet?: boolean;
    csrfToken?: string;
  };
  picker: {
    service: { name: string };
    level: { summary: string; confidenceName: string };
    providers: Array<{
      id: string;
      name: string;
      organisationType: 'public' | 'not-for-profit' | 'company';
      description?: string;
      hints: string[];
      available: boolean;
      /** Its certificate under the trust framework, said plainly (views/certification.ts). */
      certification?: CertificationView;
    }>;
    rememberedProviderId?: string;
    formAction: string;
    cannotUseHref: string;
    /** The provider the person has just come back from without finishing (access_denied there). */
    stoppedAt?: { name: string };
    error?: 'choose_provider';
    unavailableCount?: number;
    csrfToken?: string;
  };
  consent: {
    service: { name: string; organisation: string };
    provider: { name: string };
    attributes: Array<{ name: string; value: string }>;
    formAction: string;
    /** POST: drop what this provider returned and choose another. */
    anotherAction?: string;
    csrfToken?: string;
    /** Offer a signed consent receipt (a checkbox on the form). */
    offerReceipt?: boolean;
  };
  /** After consent, when the citizen asked for a receipt: save it, then continue to the service. */
  'consent-receipt': {
    service: { name: string; organisation: string };
    /** Attribute names shared (no values). */
    attributes: string[];
    level: string;
    journeyRef: string;
    receiptId: string;
    /** The signed receipt (compact JWS), posted back to be saved as a file. */
    jws: string;
    formAction: string;
    csrfToken: string;
    continueHref: string;
  };
  'extra-attribute': {
    service: { name: string };
    attribute: 'ni_number';
    value?: string;
    error?: 'required' | 'invalid_format';
    formAction: string;
    csrfToken?: string;
  };
  'other-ways': {
    service: { name: string };
    ways: Way[];
    backHref?: string;
    returnAction?: string;
    csrfToken?: string;
  };
  failure: {
    reason: FailureReasonCode;
    service?: { name: string };
    provider?: { name: string };
    /** Not shown when the person chose to stop (nothing to quote). */
    journeyRef?: string;
    tryAnotherAction?: string;
    otherWays: Way[];
    helpAction?: string;
    returnAction?: string;
    caseRef?: string;
    csrfToken?: string;
  };
  'case-create': {
    service: { name: string };
    journeyRef: string;
    formAction: string;
    backHref: string;
    csrfToken?: string;
  };
  performance: {
    /** The closed days covered, as dates in words ("24 November 2026"). */
    from: string;
    to: string;
    /** Figures built from fewer journeys than this are not shown. */
    minimum: number;
    rows: Array<{
      name: string;
      journeys: PublishedFigure;
      succeeded: PublishedFigure;
      causes: Record<'provider' | 'records' | 'person' | 'service', PublishedFigure>;
      verifiedRate: PublishedFigure;
    }>;
    /** Every provider's certificate (listed or withdrawn), from the policies. */
    certifications?: Array<{ name: string } & CertificationView>;
  };
  'support/case-lookup': {
    csrfToken: string;
    error?: 'required' | 'not_found';
    value?: string;
    found?: {
      ref: string;
      status: 'open' | 'in_progress' | 'escalated' | 'resolved';
      service: string;
      updatedAt: string;
      /** Closed by the broker after `inactiveDays` without activity (what the citizen typed is deleted). */
      closedInactive?: boolean;
      inactiveDays?: number;
      /** How a resolved case was resolved (an outcome code): the page says it in words, with what to do next. */
      outcome?: string;
    };
  };
  /** Everything held about a journey or case reference (the citizen's record). */
  record: { csrfToken: string; error?: 'required' | 'not_found'; value?: string; found?: CitizenRecord };
    'support/staff-sign-in': { optionsJson: string; error?: 'not_verified'; signedOut?: boolean; enrolled?: boolean };
  'support/staff-enrol': { name: string; role: string; optionsJson: string; formAction: string };
  'support/staff-forbidden': { action: string; signedInAs: StaffIdentity; csrfToken?: string };
  /** A staff action not done because its audit event could not be written. */
  'support/staff-not-recorded': { what: 'action' | 'view' | 'sign_in' | 'enrol' | 'sign_out'; errorId: string };
  'support/staff-queue': {
    signedInAs: StaffIdentity;
    cases: CaseSummary[];
    filters: { service: string; idp: string; reason: string };
    services: Array<{ value: string; text: string }>;
    idps: Array<{ value: string; text: string }>;
    /** Why a journey failed: the reason codes with their words, for the filter. */
    reasons: Array<{ value: string; text: string }>;
    csrfToken: string;
    canVerifyAudit: boolean;
    /** Which cases are listed (default open), and how many each list has. */
    list?: 'open' | 'resolved' | 'all';
    counts?: { open: number; resolved: number; all: number; /** Open cases marked urgent. */ urgent?: number };
    /** A reference searched for that is not a case this person may see. */
    searchError?: 'not_found';
    searchValue?: string;
    /** The action just done (a success message). */
    done?: string;
  };
  /** Resolving a case: the chosen outcome, and what closing it deletes, confirmed before it happens. */
  'support/staff-resolve-confirm': {
    signedInAs: StaffIdentity;
    ref: string;
    outcome: string;
    deletes: { contact: boolean; description: boolean; notes: number };
    csrfToken: string;
  };
  'support/staff-case': {
    signedInAs: StaffIdentity;
    supportCase: CaseSummary & {
      requested: string;
      stage: string;
      journeyRef: string;
      createdAt: string;
      outcome: string;
      escalations: Array<{ to: string; whom: string; by: string; at: string }>;
      notes: Array<{ by: string; at: string; text: string }>;
      citizen: { description?: string; contact?: string };
      /** Why the case is urgent (code and words), who marked it and when; absent when it is not. */
      urgency?: { reason: string; words: string; by: string; at: string };
    };
    timeline: Array<{ at: string; type: string; actor: string; reason: string }>;
    can: Record<string, boolean>;
    /** Staff a case can be assigned to, labelled "Name (role)"; `current` for the assignee. */
    assignable: Array<{ id: string; label: string; current: boolean }>;
    /** The assignee's name ('' when none). */
    assigneeName: string;
    outcomes: string[];
    /** The reasons a case can be urgent (codes; the template says them in words). */
    urgencyReasons?: string[];
    csrfToken: string;
    /** The action just done (a success message). */
    done?: string;
    /** Resolve was pressed without choosing an outcome. */
    outcomeError?: boolean;
    /** Mark as urgent was pressed without choosing why. */
    urgencyError?: boolean;
  };
  'support/staff-audit': { signedInAs: StaffIdentity; result: { ok: boolean; count: number; brokenAt?: number; reason?: string } };
  /** After the citizen asked for help: the case reference and what happens next. */
  'case-created': {
    reference: string;
    service?: { name: string };
    /** Where the citizen can check the case later (e.g. '/support/case'). */
    statusHref?: string;
    /** POST form: back to the service. */
    returnAction?: string;
    csrfToken?: string;
  };
  /** A case looked up by its reference: its status and the next step. */
  'case-status': {
    reference: string;
    status?: 'open' | 'in_progress' | 'escalated' | 'resolved' | 'closed';
    /** Overrides the standard next step for the status; already public-safe. */
    nextStep?: string;
    service?: { name: string };
    /** Already formatted for the locale. */
    updatedAt?: string;
    /** Link to look up another case. */
    lookupHref?: string;
    csrfToken?: string;
  };
  error: {
    status: number;
    errorId: string;
    title?: 'bad_request' | 'not_found' | 'session_expired' | 'journey_ended' | 'other_browser' | 'server_error' | 'too_many_requests';
    /** For `journey_ended`: what happened at the end (never anything about the person). */
    ended?: { outcome: 'shared' | 'returned'; service: string; serviceHref: string };
    detail?: string;
    startAgainHref?: string;
  };
}

export type PageName = keyof PageModels;

export interface StaffIdentity {
  name: string;
  role: string;
}

export interface CaseSummary {
  ref: string;
  status: string;
  service: string;
  idp: string;
  reason: string;
  ageDays: number;
  overdue: boolean;
  assignee: string;
  /** Marked urgent (an open case): listed first, with an Urgent tag. */
  urgent?: boolean;
}

/** A figure on a public page, or the fact that it is not shown (too few journeys behind it). */
export type PublishedFigure = { value: number } | { hidden: true };
