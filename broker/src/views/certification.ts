/**
 * A provider's certification as a citizen reads it (the picker) and as the public reads it
 * (/performance): the trust framework and version, the role, the certification body, the
 * certificate, its dates in words, and the register entry. From the policy only: nothing here
 * depends on the journey, so the same words appear on both pages.
 */
import type { Certification, IdentityProviderPolicy, WalletProviderPolicy } from '@idbroker/policies';
import { safeHref, type Locale } from './index.js';

export interface CertificationView {
  /** The trust framework's name in the page's language (the policy's `cy.name` in Welsh). */
  framework: string;
  version: string;
  /** The certified role (a message key `certification.role.<role>` says it in words). */
  role: Certification['role'];
  body: string;
  certificate: string;
  /** Dates in words ("31 March 2028", "31 Mawrth 2028"). */
  issued: string;
  expires: string;
  lastAudit: string;
  /** The provider's register entry, when it is a safe link. */
  registerHref?: string;
  registerStatus: Certification['register']['status'];
}

/** A policy date (YYYY-MM-DD) in words, in the page's language. */
export function dateInWords(date: string, locale: Locale): string {
  return new Intl.DateTimeFormat(locale === 'cy' ? 'cy-GB' : 'en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(`${date}T00:00:00Z`));
}

/** The provider's certification for a page, or undefined when its policy has no record. */
export function certificationView(policy: IdentityProviderPolicy | WalletProviderPolicy, locale: Locale): CertificationView | undefined {
  const c = 'certification' in policy ? (policy.certification as Certification | undefined) : undefined;
  if (!c) return undefined;
  const href = safeHref(c.register.entry);
  return {
    framework: (locale === 'cy' ? c.trust_framework.cy?.name : undefined) ?? c.trust_framework.name,
    version: c.trust_framework.version,
    role: c.role,
    body: c.certification_body.name,
    certificate: c.certificate_reference,
    issued: dateInWords(c.issued, locale),
    expires: dateInWords(policy.certification_expires, locale),
    lastAudit: dateInWords(c.last_surveillance_audit, locale),
    ...(href ? { registerHref: href } : {}),
    registerStatus: c.register.status,
  };
}

/** `{ certification }` for a provider in the picker's model, or nothing when its policy has none. */
export function pickerCertification(policy: IdentityProviderPolicy | WalletProviderPolicy, locale: Locale): { certification?: CertificationView } {
  const view = certificationView(policy, locale);
  return view ? { certification: view } : {};
}

/** Every provider's certificate for /performance (listed and withdrawn alike: the page says which). */
export function performanceCertifications(
  providers: ReadonlyArray<IdentityProviderPolicy | WalletProviderPolicy>,
  locale: Locale,
  name: (policy: IdentityProviderPolicy | WalletProviderPolicy) => string,
): Array<{ name: string } & CertificationView> {
  return providers.flatMap((p) => {
    const view = certificationView(p, locale);
    return view ? [{ name: name(p), ...view }] : [];
  });
}
