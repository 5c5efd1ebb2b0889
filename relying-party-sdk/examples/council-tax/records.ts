/** The example council's records, and how it matches a verified person to them. */
import { readFileSync } from 'node:fs';
import type { MatchDecision, MatchingIdentity } from '../../src/index.js';

export interface CouncilAccount {
  account_ref: string;
  given_name: string;
  family_name: string;
  birthdate: string;
  address: string;
  postcode: string;
  ni_number: string;
  band: string;
  balance_pence: number;
}

export function loadRecords(file = new URL('./records.json', import.meta.url)): CouncilAccount[] {
  return (JSON.parse(readFileSync(file, 'utf8')) as { accounts: CouncilAccount[] }).accounts;
}

const norm = (s: string | undefined) => (s ?? '').normalize('NFKC').toLowerCase().replace(/[^a-z0-9]/g, '');

/**
 * Match on name, date of birth and postcode; if the address has changed, a National
 * Insurance number the person gives (with the same name and date of birth) is enough.
 */
export function matchAccount(records: CouncilAccount[], who: MatchingIdentity): MatchDecision {
  const a = who.attributes;
  const sameperson = records.filter((r) => norm(r.given_name) === norm(a.given_name) && norm(r.family_name) === norm(a.family_name) && r.birthdate === a.birthdate);
  const byPostcode = sameperson.find((r) => norm(r.postcode) === norm(a.address?.postal_code));
  if (byPostcode) return { result: 'match', accountRef: byPostcode.account_ref };
  const ni = who.extra.ni_number;
  if (ni) {
    const byNi = sameperson.find((r) => norm(r.ni_number) === norm(ni));
    if (byNi) return { result: 'match', accountRef: byNi.account_ref };
  }
  return { result: 'no-match' };
}
