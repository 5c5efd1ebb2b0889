/** The demo identities an IdP stub holds (data/identities.yaml). */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Gpg45Scores } from '@idbroker/policies';
import { parse } from 'yaml';
import { parseScores } from './switches.js';

export interface PostalAddress {
  street_address: string;
  locality: string;
  postal_code: string;
  country: string;
}

export interface DemoIdentity {
  username: string;
  /** `scrypt$N$r$p$salt$hash`, see passwords.ts. */
  password_hash: string;
  given_name: string;
  family_name: string;
  /** YYYY-MM-DD */
  birthdate: string;
  address: PostalAddress;
  /** Evidence the person has shown: passport, driving_licence, vouch. */
  evidence: string[];
  /** The highest identity confidence reachable for this person, e.g. "P2". */
  confidence: string;
  /** Where the demo one-time code is "sent". */
  phone: string;
  /** The GPG 45 scores the IdP's check of this person achieved (returned as evidence). */
  gpg45?: Gpg45Scores;
}

export const defaultIdentitiesFile = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'data', 'identities.yaml');

/** Read and check the identities file; errors name the file, the entry and the field. */
export function loadIdentities(file: string = defaultIdentitiesFile): DemoIdentity[] {
  const data: unknown = parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(data)) throw new Error(`${file}: must be a list of identities`);
  const str = (o: Record<string, unknown>, k: string, where: string): string => {
    const v = o[k];
    if (typeof v !== 'string' || v.length === 0) throw new Error(`${file} (${where}.${k}): must be a non-empty string`);
    return v;
  };
  const scoresOf = (v: unknown, where: string): Gpg45Scores => {
    try {
      const scores = parseScores(v, 'gpg45');
      if (!scores) throw new Error('gpg45 must be an object');
      return scores;
    } catch (e) {
      throw new Error(`${file} (${where}.${(e as Error).message})`);
    }
  };
  return data.map((entry: unknown, i): DemoIdentity => {
    const where = `[${i}]`;
    if (!entry || typeof entry !== 'object') throw new Error(`${file} (${where}): must be a mapping`);
    const o = entry as Record<string, unknown>;
    const a = o.address as Record<string, unknown> | undefined;
    if (!a || typeof a !== 'object') throw new Error(`${file} (${where}.address): must be a mapping`);
    const evidence = o.evidence;
    if (!Array.isArray(evidence) || !evidence.every((e) => typeof e === 'string')) {
      throw new Error(`${file} (${where}.evidence): must be a list of strings`);
    }
    const confidence = str(o, 'confidence', where);
    if (!/^P\d$/.test(confidence)) throw new Error(`${file} (${where}.confidence): must be like P2`);
    return {
      username: str(o, 'username', where),
      password_hash: str(o, 'password_hash', where),
      given_name: str(o, 'given_name', where),
      family_name: str(o, 'family_name', where),
      birthdate: str(o, 'birthdate', where),
      address: {
        street_address: str(a, 'street_address', `${where}.address`),
        locality: str(a, 'locality', `${where}.address`),
        postal_code: str(a, 'postal_code', `${where}.address`),
        country: str(a, 'country', `${where}.address`),
      },
      evidence: evidence as string[],
      confidence,
      phone: str(o, 'phone', where),
      ...(o.gpg45 !== undefined ? { gpg45: scoresOf(o.gpg45, where) } : {}),
    };
  });
}

/** The IdP's stable subject for a person: opaque, different at every IdP. */
export function subjectFor(idpId: string, username: string): string {
  return createHash('sha256').update(`idp-stub:${idpId}:${username}`).digest('base64url').slice(0, 27);
}
