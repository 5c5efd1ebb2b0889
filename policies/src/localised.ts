/**
 * Policy text in the citizen's language: the Welsh (`cy:`) beside the English where the policy
 * has it, else the English (`npm run policies:check` fails while any Welsh is missing).
 */
import type { AuthenticationLevel, ConfidenceLevel, IdentityProviderPolicy, RelyingPartyPolicy, WalletProviderPolicy } from './schema.js';

export type PolicyLocale = 'en' | 'cy';

export interface ProviderText {
  name: string;
  description?: string;
  whatYouWillNeed: string[];
}

export function providerText(p: IdentityProviderPolicy | WalletProviderPolicy, locale: PolicyLocale): ProviderText {
  const cy = locale === 'cy' ? p.cy : undefined;
  const description = cy?.description ?? p.description;
  return {
    name: cy?.display_name ?? p.display_name,
    ...(description ? { description } : {}),
    whatYouWillNeed: cy?.what_you_will_need ?? p.what_you_will_need,
  };
}

export interface ServiceText {
  name: string;
  organisation: string;
  otherWays: Array<{ text: string; href?: string }>;
}

export function serviceText(rp: RelyingPartyPolicy, locale: PolicyLocale): ServiceText {
  const cy = locale === 'cy' ? rp.cy : undefined;
  return {
    name: cy?.display_name ?? rp.display_name,
    organisation: cy?.organisation ?? rp.organisation,
    otherWays: cy?.other_ways ?? rp.other_ways,
  };
}

export function levelName(level: ConfidenceLevel | AuthenticationLevel, locale: PolicyLocale): string {
  return (locale === 'cy' ? level.cy?.name : undefined) ?? level.name;
}
