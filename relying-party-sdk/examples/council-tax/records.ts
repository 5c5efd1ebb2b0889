/** The example council's records, and how it matches a verified person to them. */
import { readFileSync } from 'node:fs';
import type { MatchDecision, MatchingIdentity } from '../../src/index.js';

/** One council tax account (demo data). */
export interface CouncilAccount {
  account_ref: string;
  given_name: string;
  family_name: string;
  /** YYYY-MM-DD */
  birthdate: string;
  address: string;
  postcode: string;
  ni_number: string;
  band: string;
  balance_pence: number;
}

/** Read the records (default: records.json beside this file). */
export function loadRecords(file: URL | string = new URL('./records.json', import.meta.url)): CouncilAccount[] {
  return (JSON.parse(readFileSync(file, 'utf8')) as { accounts: CouncilAccount[] }).accounts;
}

/** Names: case, accents, spaces and punctuation do not matter ("Dylan  Rhys" = "dylan rhys"). */
export const normaliseName = (s: string | undefined): string =>
  (s ?? '').normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/[^a-z0-9]/g, '');
/** Postcodes: case and spaces do not matter ("ex1 2ab" = "EX1 2AB"). */
export const normalisePostcode = (s: string | undefined): string => (s ?? '').toUpperCase().replace(/\s+/g, '');
/** A National Insurance number, upper case without spaces, or undefined when it is not in the NI format: two letters, six digits, A to D (e.g. QQ123456C, the prefix used in examples). */
export function normaliseNiNumber(s: string | undefined): string | undefined {
  const v = (s ?? '').toUpperCase().replace(/[\s-]+/g, '');
  return /^[A-Z]{2}\d{6}[A-D]$/.test(v) ? v : undefined;
}

/**
 * Match on name, date of birth and postcode. When the address has changed since the
 * council's record, a National Insurance number the person gives (with the same name and
 * date of birth) is enough. Anything else is no match: the broker then offers the citizen
 * one extra detail, another provider or the council's other ways.
 */
export function matchAccount(records: readonly CouncilAccount[], who: MatchingIdentity): MatchDecision {
  const a = who.attributes;
  if (!a.given_name || !a.family_name || !a.birthdate) return { result: 'no-match' };
  const samePerson = records.filter(
    (r) => normaliseName(r.given_name) === normaliseName(a.given_name) && normaliseName(r.family_name) === normaliseName(a.family_name) && r.birthdate === a.birthdate,
  );
  const postcode = normalisePostcode(a.address?.postal_code);
  const byPostcode = postcode ? samePerson.filter((r) => normalisePostcode(r.postcode) === postcode) : [];
  if (byPostcode.length === 1) return { result: 'match', accountRef: byPostcode[0]!.account_ref };
  const ni = normaliseNiNumber(who.extra.ni_number);
  if (ni) {
    const byNi = samePerson.filter((r) => normaliseNiNumber(r.ni_number) === ni);
    if (byNi.length === 1) return { result: 'match', accountRef: byNi[0]!.account_ref };
  }
  return { result: 'no-match' };
}
