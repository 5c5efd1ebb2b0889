/**
 * A private copy of the shipped policies for one test, with changes: issuers pointing at
 * stubs on free ports, another service in another sector, a suspended IdP, and so on.
 *
 * The shipped demo policies carry real dates (certification_expires, keys_expire) that will pass
 * one day; the copy moves them five years past today, so no test depends on the calendar. A test
 * about expiry sets its own dates (and clock) through `changes`.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { defaultPoliciesDir, loadPolicies, type LoadOptions, type Policies } from '@idbroker/policies';

/** A second service, in another sector, with the example service's development key: pass it as `extraRps`. */
export const SECOND_SERVICE = {
  client_id: 'example-voter-registration',
  display_name: 'Register to vote (example)',
  organisation: 'Example Electoral Registration Office',
  redirect_uris: ['http://localhost:3300/callback'],
  token_endpoint_auth_method: 'private_key_jwt',
  jwks_file: 'dev-keys/example-service.public.jwk.json',
  permitted_attributes: ['given_name', 'family_name', 'birthdate', 'address'],
  minimum_level: 'Cl.P1',
  default_level: 'Cl.Cm.P2',
  sector_identifier: 'urn:idbroker:sector:electoral-register',
  other_ways: [{ text: 'Fill in a paper form.' }],
};

/**
 * A service that authenticates to the token endpoint with client_secret_basic (an ordinary
 * confidential client, as most OpenID Connect libraries are by default). Its secret is written
 * beside the policy: pass `SECRET_FILES` as `files` with it.
 */
export const BASIC_SERVICE = {
  client_id: 'example-library-card',
  display_name: 'Join the library (example)',
  organisation: 'Example Borough Libraries',
  redirect_uris: ['http://localhost:3400/callback'],
  token_endpoint_auth_method: 'client_secret_basic',
  client_secret: { file: 'dev-keys/example-library-card.secret' },
  permitted_attributes: ['given_name', 'family_name', 'birthdate', 'address'],
  minimum_level: 'Cl.P1',
  default_level: 'Cl.Cm.P2',
  sector_identifier: 'urn:idbroker:sector:example-libraries',
  other_ways: [{ text: 'Ask at any library desk.' }],
};
export const BASIC_SERVICE_SECRET = 'library-card-test-secret-0123456789abcdef';
/** Files written into the policy copy (path relative to it -> content). */
export const SECRET_FILES = { 'dev-keys/example-library-card.secret': `${BASIC_SERVICE_SECRET}\n` };

/**
 * A service (private_key_jwt, the example service's development key) that may receive names
 * only: a standard `profile` scope also asks for birthdate, which it is not permitted.
 */
export const NAMES_ONLY_SERVICE = {
  ...SECOND_SERVICE,
  client_id: 'example-parking-permit',
  display_name: 'Apply for a parking permit (example)',
  redirect_uris: ['http://localhost:3500/callback'],
  permitted_attributes: ['given_name', 'family_name'],
  sector_identifier: 'urn:idbroker:sector:example-parking',
};

export interface PolicyChanges {
  /** Changes to identity-providers/<id>.yaml (merged at the top level). */
  idps?: Record<string, Record<string, unknown>>;
  /** Changes to relying-parties/<file>.yaml, by client_id (merged at the top level). */
  rps?: Record<string, Record<string, unknown>>;
  /** Extra services: file name -> whole policy. */
  extraRps?: Record<string, Record<string, unknown>>;
  /** Extra files in the copy (e.g. a service's client secret): path relative to it -> content. */
  files?: Record<string, string>;
  /** Changes to broker.yaml (merged at the top level, e.g. `{ performance: { minimum_journeys: 1, days: 7 } }`). */
  broker?: Record<string, unknown>;
}

export interface TestPolicies {
  dir: string;
  load(options?: LoadOptions): Policies;
  /** Rewrite one IdP's policy file (e.g. to suspend it mid-test). */
  changeIdp(id: string, change: Record<string, unknown>): void;
  remove(): void;
}

export function testPolicies(changes: PolicyChanges = {}): TestPolicies {
  const dir = mkdtempSync(join(tmpdir(), 'idb-policies-'));
  cpSync(defaultPoliciesDir, dir, { recursive: true, filter: (src) => !src.includes('node_modules') && !src.endsWith('/src') });
  const changeIdp = (id: string, change: Record<string, unknown>) => {
    const file = join(dir, 'identity-providers', `${id}.yaml`);
    const doc = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, stringify({ ...doc, ...change }));
  };
  const later = new Date(Date.now() + 5 * 365 * 86_400_000).toISOString().slice(0, 10);
  for (const [folder, field] of [['identity-providers', 'certification_expires'], ['relying-parties', 'keys_expire']] as const) {
    for (const name of readdirSync(join(dir, folder)).filter((f) => f.endsWith('.yaml'))) {
      const file = join(dir, folder, name);
      const doc = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      if (field in doc) writeFileSync(file, stringify({ ...doc, [field]: later }));
    }
  }
  for (const [id, change] of Object.entries(changes.idps ?? {})) changeIdp(id, change);
  for (const [clientId, change] of Object.entries(changes.rps ?? {})) {
    const file = join(dir, 'relying-parties', clientId === 'example-council-tax' ? 'example-council-tax.yaml' : `${clientId}.yaml`);
    const doc = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, stringify({ ...doc, ...change }));
  }
  if (changes.broker) {
    const file = join(dir, 'broker.yaml');
    const doc = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, stringify({ ...doc, ...changes.broker }));
  }
  for (const [name, policy] of Object.entries(changes.extraRps ?? {})) {
    writeFileSync(join(dir, 'relying-parties', name.endsWith('.yaml') ? name : `${name}.yaml`), stringify(policy));
  }
  for (const [name, content] of Object.entries(changes.files ?? {})) writeFileSync(join(dir, name), content);
  return {
    dir,
    load: (options) => loadPolicies(dir, options),
    changeIdp,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
