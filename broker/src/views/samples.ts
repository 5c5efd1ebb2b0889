/** Every page the broker renders, in every state it renders it in: shared by the unit tests and the browser check. */
import type { PageModels, PageName } from './index.js';
import type { CertificationView } from './certification.js';

export const ways = [{ text: 'Phone 0300 123 4567' }, { text: 'Visit an office', href: 'https://example.gov.uk/offices' }];
/** A certificate as the picker and /performance show it (views/certification.ts). */
const certification: CertificationView = {
  framework: 'UK digital verification services trust framework',
  version: '1.0',
  role: 'identity_service_provider',
  body: 'Example Assurance Services Ltd',
  certificate: 'EAS-IDSP-2025-0142',
  issued: '1 April 2025',
  expires: '31 March 2028',
  lastAudit: '24 March 2026',
  registerHref: 'https://www.digital-identity-services-register.example/providers/civic-id',
  registerStatus: 'listed',
};
export const reasons = ['cancelled', 'no_match', 'level_not_met', 'provider_failed', 'fraud_flagged', 'timed_out', 'matching_failed', 'no_provider'] as const;

/** Every page in every state the broker renders it in. */
export const samples: Array<[string, PageName, PageModels[PageName]]> = [
  ['picker', 'picker', {
    service: { name: 'Pay your council tax' },
    level: { summary: 'Cl.Cm.P2', confidenceName: 'Medium identity confidence' },
    providers: [
      { id: 'civic-id', name: 'Civic ID', organisationType: 'public', description: 'A public service.', hints: ['A passport'], available: true, certification },
      { id: 'swift-verify', name: 'SwiftVerify', organisationType: 'company', hints: ['A bank account'], available: true, certification: { ...certification, body: 'Certify Digital Ltd', certificate: 'CDL-DVS-2024-1187' } },
      { id: 'down-idp', name: 'Down IdP', organisationType: 'not-for-profit', hints: ['x'], available: false },
    ],
    rememberedProviderId: 'civic-id',
    formAction: '/journey/u/provider',
    cannotUseHref: '/journey/u/other-ways',
    unavailableCount: 1,
    csrfToken: 'csrf-token-1',
  }],
  ['picker-stopped', 'picker', {
    service: { name: 'Pay your council tax' },
    level: { summary: 'Cl.P1', confidenceName: 'Low identity confidence' },
    providers: [{ id: 'civic-id', name: 'Civic ID', organisationType: 'public', hints: ['A passport'], available: true }],
    formAction: '/journey/u/provider',
    cannotUseHref: '/journey/u/other-ways',
    stoppedAt: { name: 'Civic ID' },
    csrfToken: 'csrf-token-1',
  }],
  ['picker-error', 'picker', {
    service: { name: 'Pay your council tax' },
    level: { summary: 'Cl.P1', confidenceName: 'Low identity confidence' },
    providers: [{ id: 'civic-id', name: 'Civic ID', organisationType: 'public', hints: ['A passport'], available: true }],
    formAction: '/journey/u/provider',
    cannotUseHref: '/journey/u/other-ways',
    error: 'choose_provider',
    csrfToken: 'csrf-token-1',
  }],
  ['picker-none', 'picker', {
    service: { name: 'Pay your council tax' },
    level: { summary: 'Cl.P1', confidenceName: 'Low identity confidence' },
    providers: [{ id: 'civic-id', name: 'Civic ID', organisationType: 'public', hints: ['A passport'], available: false }],
    formAction: '/journey/u/provider',
    cannotUseHref: '/journey/u/other-ways',
  }],
  ['wallet', 'wallet', {
    provider: { name: 'A digital identity wallet' },
    sameDeviceHref: 'openid4vp://?client_id=x509_hash%3Aabc&request_uri=https%3A%2F%2Fbroker.example%2Fwallet%2Frequest%2Fs%2Fsame',
    qrDataUri: 'data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAxIDEiLz4=',
    continueAction: '/journey/u/wallet',
    anotherAction: '/journey/u/another',
    csrfToken: 'csrf-token-1',
  }],
  ['wallet-not-yet', 'wallet', {
    provider: { name: 'A digital identity wallet' },
    sameDeviceHref: 'openid4vp://?client_id=x509_hash%3Aabc&request_uri=https%3A%2F%2Fbroker.example%2Fwallet%2Frequest%2Fs%2Fsame',
    qrDataUri: 'data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAxIDEiLz4=',
    continueAction: '/journey/u/wallet',
    anotherAction: '/journey/u/another',
    notYet: true,
    csrfToken: 'csrf-token-1',
  }],
  ['consent', 'consent', {
    service: { name: 'Pay your council tax', organisation: 'Example Borough Council' },
    provider: { name: 'Civic ID' },
    attributes: [
      { name: 'given_name', value: 'Margaret' },
      { name: 'address', value: '12 Station Road\nExampleton\nEX1 2AB' },
      { name: 'birthdate', value: '14 March 1958' },
    ],
    formAction: '/journey/u/consent',
    csrfToken: 'csrf-token-1',
  }],
  ['consent-with-receipt', 'consent', {
    service: { name: 'Pay your council tax', organisation: 'Example Borough Council' },
    provider: { name: 'Civic ID' },
    attributes: [{ name: 'given_name', value: 'Margaret' }],
    formAction: '/journey/u/consent',
    csrfToken: 'csrf-token-1',
    offerReceipt: true,
  }],
  ['consent-receipt', 'consent-receipt', {
    service: { name: 'Pay your council tax', organisation: 'Example Borough Council' },
    attributes: ['given_name', 'family_name', 'birthdate', 'address'],
    level: 'Cl.Cm.P2',
    journeyRef: 'K7QM-2XPD-9RTB-H',
    receiptId: '0b6f0a52-6a3e-4f7e-9d0c-3c1b2f6d7e8a',
    jws: 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln',
    formAction: '/consent-receipt',
    csrfToken: 'csrf-token-1',
    continueHref: '/auth/u',
  }],
  ['record', 'record', { csrfToken: 'c' }],
  ['record-not-found', 'record', { csrfToken: 'c', error: 'not_found', value: 'ZZZZ-ZZZZ-ZZZZ-Z' }],
  ['record-found', 'record', {
    csrfToken: 'c',
    found: {
      reference: 'K7QM-2XPD-9RTB-H', kind: 'case', generatedAt: '2026-12-02T10:00:00.000Z', service: 'Pay your council tax', journeyRef: 'A1B2-C3D4-E5F6-G',
      timeline: [
        { at: '2026-12-02T09:00:00.000Z', event: 'journey.started', explained: true },
        { at: '2026-12-02T09:05:00.000Z', event: 'journey.delivered', explained: true },
        { at: '2026-12-02T09:06:00.000Z', event: 'case.opened', explained: true },
        { at: '2026-12-02T09:07:00.000Z', event: 'something.new', explained: false },
      ],
      released: [{ to: 'Pay your council tax', attributes: ['given_name', 'birthdate'], at: '2026-12-02T09:05:00.000Z' }],
      supportCase: { ref: 'K7QM-2XPD-9RTB-H', status: 'open', openedAt: '2026-12-02T09:06:00.000Z', lastActivityAt: '2026-12-02T09:06:00.000Z', holdsDescription: true, holdsContact: false, staffNotes: 1, closesIfNoActivityAt: '2027-03-02T09:06:00.000Z', deletedBy: '2027-05-31T09:06:00.000Z' },
      providerUsed: true, journeyState: 'deleted', auditKeptUntil: '2028-12-01T09:07:00.000Z',
    },
  }],
  ['extra', 'extra-attribute', { service: { name: 'Pay your council tax' }, attribute: 'ni_number', formAction: '/journey/u/extra', csrfToken: 'c' }],
  ['extra-required', 'extra-attribute', { service: { name: 'Pay your council tax' }, attribute: 'ni_number', error: 'required', formAction: '/journey/u/extra', csrfToken: 'c' }],
  ['extra-invalid', 'extra-attribute', { service: { name: 'Pay your council tax' }, attribute: 'ni_number', value: 'AB12', error: 'invalid_format', formAction: '/journey/u/extra', csrfToken: 'c' }],
  ['case-create', 'case-create', { service: { name: 'Pay your council tax' }, journeyRef: 'K7QM-2XPD-9RTB-H', formAction: '/journey/u/help', backHref: '/journey/u/failure', csrfToken: 'c' }],
  ['picker-count', 'picker', {
    service: { name: 'Register to vote' },
    level: { summary: 'Cl.P1', confidenceName: 'Low identity confidence' },
    providers: [{ id: 'community-vouch', name: 'Community Vouch', organisationType: 'not-for-profit', hints: ['Someone who has known you for 2 years'], available: true }],
    formAction: '/journey/u/provider',
    cannotUseHref: '/journey/u/other-ways',
    unavailableCount: 2,
    csrfToken: 'c',
  }],
  ['case-created', 'case-created', { reference: 'K7QM-2XPD-9RTB', service: { name: 'Pay your council tax' }, statusHref: '/support/case', returnAction: '/journey/u/return', csrfToken: 'c' }],
  ['case-created-minimal', 'case-created', { reference: 'K7QM-2XPD-9RTB', returnAction: '/journey/u/return' }],
  ...(['open', 'in_progress', 'escalated', 'resolved', 'closed'] as const).map((status): [string, PageName, PageModels[PageName]] => [`case-status-${status}`, 'case-status', {
    reference: 'K7QM-2XPD-9RTB', status, service: { name: 'Pay your council tax' }, updatedAt: '23 November 2026', lookupHref: '/support/case',
  }]),
  ['case-status-next-step', 'case-status', { reference: 'K7QM-2XPD-9RTB', nextStep: 'Call the council on 0300 123 4567.' }],
  ['performance', 'performance', { from: '24 November 2026', to: '30 November 2026', minimum: 20, rows: [
    { name: 'Civic ID', journeys: { value: 412 }, succeeded: { value: 301 }, causes: { provider: { value: 52 }, records: { value: 21 }, person: { value: 38 }, service: { hidden: true } }, verifiedRate: { value: 86 } },
    { name: 'Swift Verify', journeys: { value: 95 }, succeeded: { value: 70 }, causes: { provider: { value: 25 }, records: { hidden: true }, person: { hidden: true }, service: { hidden: true } }, verifiedRate: { value: 74 } },
    { name: 'Community Vouch', journeys: { hidden: true }, succeeded: { hidden: true }, causes: { provider: { hidden: true }, records: { hidden: true }, person: { hidden: true }, service: { hidden: true } }, verifiedRate: { hidden: true } },
  ], certifications: [
    { name: 'Civic ID', ...certification },
    { name: 'A digital identity wallet', ...certification, role: 'holder_service_provider', certificate: 'EAS-HSP-2025-0007' },
    { name: 'Swift Verify', ...certification, registerStatus: 'withdrawn' },
  ] }],
  ['other-ways', 'other-ways', { service: { name: 'Pay your council tax' }, ways, backHref: '/journey/u', returnAction: '/journey/u/return', csrfToken: 'c' }],
  ['other-ways-none', 'other-ways', { service: { name: 'Pay your council tax' }, ways: [] }],
  ...reasons.map((reason): [string, PageName, PageModels[PageName]] => [`failure-${reason}-bare`, 'failure', { reason, journeyRef: 'K7QM-2XPD-9RTB-H', otherWays: [] }]),
  ...reasons.map((reason): [string, PageName, PageModels[PageName]] => [`failure-${reason}`, 'failure', {
    reason,
    service: { name: 'Pay your council tax' },
    provider: { name: 'Civic ID' },
    journeyRef: 'K7QM-2XPD-9RTB-H',
    tryAnotherAction: '/journey/u/another',
    otherWays: ways,
    helpAction: '/journey/u/help',
    returnAction: '/journey/u/return',
    caseRef: reason === 'no_match' ? 'ABCD-EFGH-JKMN-P' : undefined,
    csrfToken: 'c',
  } as PageModels['failure']]),
  ...(['bad_request', 'not_found', 'session_expired', 'other_browser', 'server_error', 'too_many_requests'] as const).map((title): [string, PageName, PageModels[PageName]] => [`error-${title}`, 'error', { status: 400, errorId: 'e-1', title, detail: 'redirect_uri did not match', startAgainHref: '/' }]),
];

const staff = { name: 'Aled Jones', role: 'supervisor' };
const caseSummary = { ref: 'K7QM-2XPD-9RTB', status: 'escalated', service: 'Pay your council tax', idp: 'Civic ID', reason: 'no_match', ageDays: 3, overdue: true, assignee: 'agent-1' };

/** The support pages (owned by the support part, rendered through this module): every state, for the message and escaping checks. */
export const supportSamples: Array<[string, PageName, PageModels[PageName]]> = [
  ['support-lookup', 'support/case-lookup', { csrfToken: 'c' }],
  ['support-lookup-required', 'support/case-lookup', { csrfToken: 'c', error: 'required' }],
  ['support-lookup-not-found', 'support/case-lookup', { csrfToken: 'c', error: 'not_found', value: 'ABCD' }],
  ...(['open', 'in_progress', 'escalated', 'resolved'] as const).map((status): [string, PageName, PageModels[PageName]] => [`support-lookup-${status}`, 'support/case-lookup', {
    csrfToken: 'c', found: { ref: 'K7QM-2XPD-9RTB', status, service: 'Pay your council tax', updatedAt: '2026-11-23T08:00:00.000Z' },
  }]),
  ['support-sign-in', 'support/staff-sign-in', { optionsJson: '{}', error: 'not_verified', signedOut: true, enrolled: true }],
  ['support-enrol', 'support/staff-enrol', { name: 'Aled Jones', role: 'agent', optionsJson: '{}', formAction: '/support/staff/enrol/t' }],
  ['support-forbidden', 'support/staff-forbidden', { action: 'resolve', signedInAs: staff, csrfToken: 'c' }],
  ...(['action', 'view', 'sign_in', 'enrol', 'sign_out'] as const).map((what): [string, PageName, PageModels[PageName]] => [`support-not-recorded-${what}`, 'support/staff-not-recorded', { what, errorId: 'e-1' }]),
  ['support-queue', 'support/staff-queue', {
    signedInAs: staff, cases: [{ ...caseSummary, urgent: true }, caseSummary, { ...caseSummary, ref: 'AAAA-BBBB-CCCC', status: 'open', overdue: false, idp: '' }], list: 'open', counts: { open: 3, resolved: 0, all: 3, urgent: 1 },
    filters: { service: '', idp: '', reason: '' }, services: [{ value: 'example-council-tax', text: 'Pay your council tax' }], idps: [{ value: 'civic-id', text: 'Civic ID' }], reasons: [{ value: 'no_match', text: 'Not found in the service’s records' }, { value: 'level_not_met', text: 'Identity not checked thoroughly enough' }], csrfToken: 'c', canVerifyAudit: true,
  }],
  ['support-queue-empty', 'support/staff-queue', { signedInAs: staff, cases: [], filters: { service: '', idp: '', reason: '' }, services: [], idps: [], reasons: [], csrfToken: 'c', canVerifyAudit: false }],
  ...(['open', 'resolved'] as const).map((status): [string, PageName, PageModels[PageName]] => [`support-case-${status}`, 'support/staff-case', {
    signedInAs: staff,
    supportCase: {
      ...caseSummary, status, requested: 'Cl.Cm.P2', stage: 'matching', journeyRef: 'J-1', createdAt: '2026-11-20T10:00:00Z', outcome: status === 'resolved' ? 'matched_by_service' : '',
      escalations: [{ to: 'service', whom: 'Council IT desk #42', by: 'agent-1', at: '2026-11-21T10:00:00Z' }, { to: 'idp', whom: 'Civic ID support', by: 'agent-1', at: '2026-11-21T11:00:00Z' }],
      notes: [{ by: 'agent-1', at: '2026-11-21T09:00:00Z', text: 'Asked the council to check the old address.' }],
      citizen: { description: 'It said no record', contact: '07700 900123' },
      ...(status === 'open' ? { urgency: { reason: 'heating_or_food', words: 'Cannot pay for heating or food', by: 'Alex Jones', at: '2026-11-21T09:30:00Z' } } : {}),
    },
    timeline: [{ at: '2026-11-20T10:00:00Z', type: 'case.opened', actor: 'citizen', reason: 'no_match' }],
    can: { note: true, escalate: true, assign: true, resolve: true, reopen: true, urgent: true },
    assignable: [{ id: 'agent-1', label: 'Alex Jones (agent)', current: true }, { id: 'sup-1', label: 'Sam Supervisor (supervisor)', current: false }],
    assigneeName: 'Alex Jones',
    outcomes: ['verified_another_way', 'matched_by_service', 'provider_fixed', 'service_fixed', 'advised_other_ways', 'no_response', 'duplicate'],
    urgencyReasons: ['heating_or_food', 'housing', 'other_urgent'],
    csrfToken: 'c',
  }]),
  ['support-audit-ok', 'support/staff-audit', { signedInAs: staff, result: { ok: true, count: 12 } }],
  ['support-audit-broken', 'support/staff-audit', { signedInAs: { name: 'Ceri', role: 'auditor' }, result: { ok: false, count: 12, brokenAt: 7, reason: 'hash mismatch' } }],
  ['support-audit-agent', 'support/staff-audit', { signedInAs: { name: 'Dai', role: 'agent' }, result: { ok: true, count: 0 } }],
];

