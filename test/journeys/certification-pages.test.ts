/**
 * The certification shown plainly (issue 17): the picker says, for each provider offered, under
 * which trust framework, by which body, with which certificate and until when it is certified,
 * with a link to its register entry; /performance has every provider's certificate in a table.
 * Both in English and in Welsh, from the policies (no figure written here is taken for granted).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPoliciesDir, loadPolicies, providerText, type IdentityProviderPolicy, type Policies, type WalletProviderPolicy } from '@idbroker/policies';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';
import { visibleText } from '../support/text.js';

const shipped = loadPolicies(defaultPoliciesDir);
const inWords = (date: string, locale: 'en' | 'cy') =>
  new Intl.DateTimeFormat(locale === 'cy' ? 'cy-GB' : 'en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(`${date}T00:00:00Z`));

/** The rows of the certification table: provider name -> its cells' text. */
function certificationRows(html: string): Map<string, string[]> {
  const table = /<table class="govuk-table" id="certification-table">([\s\S]*?)<\/table>/.exec(html)?.[1];
  if (!table) throw new Error('no certification table on the page');
  const body = /<tbody[^>]*>([\s\S]*?)<\/tbody>/.exec(table)![1]!;
  const rows = new Map<string, string[]>();
  for (const m of body.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)) {
    const name = visibleText(/<th[^>]*>([\s\S]*?)<\/th>/.exec(m[1]!)![1]!).trim();
    rows.set(name, [...m[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => visibleText(c[1]!).replace(/ :/g, ':').trim()));
  }
  return rows;
}

describe('certification on the picker and on /performance', () => {
  let fed: Federation;
  let policies: Policies;
  beforeAll(async () => {
    // SwiftVerify's entry is withdrawn from the register: not offered, but shown as withdrawn on /performance.
    const swift = shipped.identityProvider('swift-verify')!;
    fed = await startFederation({
      idps: ['civic-id', 'community-vouch', 'swift-verify'],
      wallets: false,
      policyChanges: { idps: { 'swift-verify': { certification: { ...swift.certification, register: { ...swift.certification.register, status: 'withdrawn', withdrawn_on: '2026-10-01' } } } } },
    });
    policies = fed.policies.load();
  });
  afterAll(async () => {
    await fed?.close();
  });

  const provider = (id: string) => (policies.identityProvider(id) ?? policies.walletProvider(id))!;
  const sentence = (p: IdentityProviderPolicy | WalletProviderPolicy, locale: 'en' | 'cy') => {
    const c = p.certification;
    const date = inWords(p.certification_expires, locale);
    const name = providerText(p, locale).name;
    return locale === 'en'
      ? `${name} is certified under the ${c.trust_framework.name} ${c.trust_framework.version} by ${c.certification_body.name}, certificate ${c.certificate_reference}, until ${date}.`
      : `Mae ${name} wedi’i ardystio o dan ${c.trust_framework.cy!.name} ${c.trust_framework.version} gan ${c.certification_body.name}, tystysgrif ${c.certificate_reference}, tan ${date}.`;
  };

  it.each(['en', 'cy'] as const)('the picker (%s) says how each offered provider is certified, links its register entry, and says nothing of a withdrawn one', async (locale) => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.P1'], ...(locale === 'cy' ? { extra: { ui_locales: 'cy' } } : {}) });
    const html = citizen.html;
    const text = visibleText(html);
    expect(html).toContain('<details id="certification" class="govuk-details"');
    expect(text).toContain(locale === 'en' ? 'How these providers are checked' : 'Sut mae’r darparwyr hyn yn cael eu gwirio');
    // The wallet (a holder service provider) is shown like the identity providers.
    for (const id of ['civic-id', 'community-vouch', 'digital-wallet']) {
      const idp = provider(id);
      expect(text).toContain(sentence(idp, locale));
      expect(text).toContain(locale === 'en' ? `Certified until ${inWords(idp.certification_expires, 'en')}` : `Wedi’i ardystio tan ${inWords(idp.certification_expires, 'cy')}`);
      expect(html).toContain(`href="${idp.certification.register.entry}" target="_blank" rel="noreferrer noopener"`);
    }
    const swift = policies.identityProvider('swift-verify')!;
    expect(html).not.toContain('value="swift-verify"');
    expect(text).not.toContain(swift.certification.certificate_reference);
    if (locale === 'cy') {
      expect(text).not.toContain(policies.identityProvider('civic-id')!.certification.trust_framework.name);
      expect(text).not.toMatch(/January|February|March|April|May|June|July|August|September|October|November|December/);
    }
  });

  it.each(['en', 'cy'] as const)('/performance (%s) has every provider\'s certificate: framework and version, role, body, certificate, expiry, last audit, register status', async (locale) => {
    const response = await fetch(`${fed.issuer}/performance?lang=${locale}`);
    expect(response.status).toBe(200);
    const html = await response.text();
    const rows = certificationRows(html);
    const all = [...policies.identityProviders, ...policies.walletProviders];
    expect([...rows.keys()].sort()).toEqual(all.map((p) => providerText(p, locale).name).sort());
    const roles = { en: { identity_service_provider: 'Identity service provider', holder_service_provider: 'Holder service provider' }, cy: { identity_service_provider: 'Darparwr gwasanaeth hunaniaeth', holder_service_provider: 'Darparwr gwasanaeth deiliad' } } as const;
    for (const idp of all) {
      const c = idp.certification;
      const name = providerText(idp, locale).name;
      const withdrawn = c.register.status === 'withdrawn';
      expect(c.role === 'holder_service_provider').toBe(idp.kind === 'wallet');
      expect(rows.get(name), idp.id).toEqual([
        `${locale === 'cy' ? c.trust_framework.cy!.name : c.trust_framework.name} ${c.trust_framework.version}`,
        roles[locale][c.role as 'identity_service_provider' | 'holder_service_provider'],
        c.certification_body.name,
        c.certificate_reference,
        inWords(idp.certification_expires, locale),
        inWords(c.last_surveillance_audit, locale),
        locale === 'en'
          ? `${withdrawn ? 'Withdrawn' : 'Listed'}: register entry of ${name}`
          : `${withdrawn ? 'Wedi’i dynnu’n ôl' : 'Wedi’i restru'}: cofnod ${name} ar y gofrestr`,
      ]);
      expect(html).toContain(`href="${c.register.entry}"`);
    }
    expect(rows.get('SwiftVerify')![6]).toMatch(locale === 'en' ? /^Withdrawn/ : /^Wedi’i dynnu’n ôl/);
  });
});
