/** Turning verified attributes into words for the consent page (values escaped by the templates). */
import type { AttributeName } from '@idbroker/policies';

/** `locale` decides how dates read (23 November 1985, 23 Tachwedd 1985). */
export function formatAttribute(name: AttributeName | 'ni_number', value: unknown, locale: 'en' | 'cy' = 'en'): string {
  if (value === undefined || value === null) return '';
  if (name === 'address' && typeof value === 'object') {
    const a = value as Record<string, unknown>;
    if (typeof a.formatted === 'string') return a.formatted;
    return [a.street_address, a.locality, a.region, a.postal_code, countryName(a.country, locale)]
      .filter((p): p is string => typeof p === 'string' && p.length > 0)
      .join('\n');
  }
  if (name === 'birthdate' && typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const d = new Date(`${value}T00:00:00Z`);
    return d.toLocaleDateString(locale === 'cy' ? 'cy-GB' : 'en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
  }
  if (name === 'place_of_birth' && typeof value === 'object') {
    const p = value as Record<string, unknown>;
    return [p.locality, p.region, p.country].filter((x): x is string => typeof x === 'string').join(', ');
  }
  if (Array.isArray(value)) return value.map(String).join(', ');
  return String(value);
}

/**
 * A country as people write it on an envelope: nothing for the UK (these are UK services), else the
 * country's name in the page's language ("FR" -> "France" / "Ffrainc").
 */
function countryName(country: unknown, locale: 'en' | 'cy'): string | undefined {
  if (typeof country !== 'string' || country === '') return undefined;
  const code = country.toUpperCase();
  if (code === 'GB' || code === 'UK' || code === 'GBR') return undefined;
  if (!/^[A-Z]{2}$/.test(code)) return country;
  try {
    return new Intl.DisplayNames([locale === 'cy' ? 'cy' : 'en-GB'], { type: 'region' }).of(code) ?? country;
  } catch {
    return country;
  }
}
