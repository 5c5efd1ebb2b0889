/**
 * References people read aloud and type: Crockford base32 (no I, L, O, U), groups of four,
 * with a check character. A journey reference has 60 random bits + 1 check character,
 * e.g. `K7QM-2XPD-9RTB-H`.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function checkCharacter(body: string): string {
  // Weighted sum mod 31 (a prime below the alphabet size) catches single substitutions and adjacent swaps.
  let sum = 0;
  for (let i = 0; i < body.length; i++) sum += (i + 1) * ALPHABET.indexOf(body[i]!);
  return ALPHABET[sum % 31]!;
}

/** `groups` groups of four characters (5 bits each) plus a check character. */
export function newReference(groups = 3): string {
  const bytes = randomBytes(groups * 4);
  let body = '';
  for (const b of bytes) body += ALPHABET[b & 31];
  const parts = body.match(/.{4}/g) ?? [];
  return `${parts.join('-')}-${checkCharacter(body)}`;
}

export const newJourneyReference = () => newReference(3);

/** Normalise what a person typed (case, spaces, hyphens, O/I/L look-alikes); undefined when the check fails. */
export function normaliseReference(input: string, groups = 3): string | undefined {
  const cleaned = input
    .toUpperCase()
    .replace(/[\s-]/g, '')
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');
  if (cleaned.length !== groups * 4 + 1 || [...cleaned].some((c) => !ALPHABET.includes(c))) return undefined;
  const body = cleaned.slice(0, -1);
  if (checkCharacter(body) !== cleaned.slice(-1)) return undefined;
  return `${body.match(/.{4}/g)!.join('-')}-${cleaned.slice(-1)}`;
}
