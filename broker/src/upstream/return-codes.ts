/**
 * Return codes (docs/adr/0006-return-codes.md): a provider that could not verify a person may say
 * why with codes, as GOV.UK One Login's identity core does in its `returnCode` claim. The
 * federation's vocabulary (policies/broker.yaml `return_codes`) puts each code under who caused
 * the failure, and that decides the journey's way forward:
 *
 *   evidence  the person's evidence could not reach the level     -> level_not_met   (another provider, other ways, help)
 *   provider  the provider could not complete the check          -> provider_failed (another provider or again, other ways, help)
 *   fraud     a contra-indicator: identity fraud suspected          -> fraud_flagged   (other ways, help; no other provider)
 *
 * With several codes the gravest category wins (fraud, then evidence, then provider); a code
 * outside the vocabulary is the provider's failure (it answered outside the framework), unless a
 * known code decides.
 */
import type { BrokerPolicy } from '@idbroker/policies';
import { UpstreamError, type UpstreamCause, type UpstreamFailure } from './errors.js';

export type ReturnCodeCategory = keyof BrokerPolicy['return_codes'];

/** The gravest first. */
const ORDER: readonly ReturnCodeCategory[] = ['fraud', 'evidence', 'provider'];
const REASON: Record<ReturnCodeCategory, UpstreamFailure> = { fraud: 'fraud_flagged', evidence: 'level_not_met', provider: 'provider_failed' };
const CAUSE: Record<ReturnCodeCategory, UpstreamCause> = { fraud: 'return_code.fraud', evidence: 'return_code.evidence', provider: 'return_code.provider' };
const CODE = /^[A-Za-z0-9_-]{1,16}$/;

/**
 * The codes of an authorization error's description written `return_code: A B` (the IdP stub's
 * form, see idp-stub/README.md), or undefined when it names none.
 */
export function returnCodesFrom(description: string | null | undefined): string[] | undefined {
  const m = /^return_code:\s*(.+)$/.exec((description ?? '').trim());
  if (!m) return undefined;
  const codes = m[1]!.split(/[\s,]+/).filter((c) => CODE.test(c)).slice(0, 8);
  return codes.length > 0 ? codes : undefined;
}

/** The category the codes fall under (undefined: none is in the vocabulary). */
export function returnCodeCategory(codes: readonly string[], vocabulary: BrokerPolicy['return_codes']): ReturnCodeCategory | undefined {
  return ORDER.find((category) => codes.some((c) => vocabulary[category].includes(c)));
}

/** The failure the codes stand for, with its audit code. */
export function returnCodeFailure(idpId: string, codes: readonly string[], vocabulary: BrokerPolicy['return_codes']): UpstreamError {
  const category = returnCodeCategory(codes, vocabulary);
  const detail = `${idpId} answered return codes ${codes.join(' ')}`;
  if (!category) return new UpstreamError('provider_failed', `${detail}: none is in the federation's vocabulary`, { code: 'return_code.unknown' });
  return new UpstreamError(REASON[category], `${detail} (${category})`, { code: CAUSE[category] });
}
