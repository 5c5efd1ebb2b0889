/** The data each page is rendered from. Values are escaped by the templates. */
import type { ErrorReason } from '@idbroker/relying-party-sdk/protocol';

export type FailureReasonCode = ErrorReason;
export interface Way {
  text: string;
  href?: string;
}

export interface PageModels {
  picker: {
    service: { name: string };
    level: { summary: string; confidenceName: string };
    providers: Array<{ id: string; name: string; organisationType: 'public' | 'not-for-profit' | 'company'; description?: string; hints: string[]; available: boolean }>;
    rememberedProviderId?: string;
    formAction: string;
    cannotUseHref: string;
    error?: 'choose_provider';
    unavailableCount?: number;
    csrfToken?: string;
  };
  consent: {
    service: { name: string; organisation: string };
    provider: { name: string };
    attributes: Array<{ name: string; value: string }>;
    formAction: string;
    csrfToken?: string;
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
    journeyRef: string;
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
    rows: Array<{ name: string; succeeded: number; failed: number; total: number; rate: number | null; byReason: Record<string, number> }>;
    hours: number;
  };
  error: {
    status: number;
    errorId: string;
    title?: 'bad_request' | 'not_found' | 'session_expired' | 'server_error' | 'too_many_requests';
    detail?: string;
    startAgainHref?: string;
  };
}

export type PageName = keyof PageModels;
