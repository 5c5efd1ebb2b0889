/**
 * Loads and validates the trust framework. Every error names the file, the field path and
 * what is wrong, so an operator can fix the policy without reading code.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { LevelError, Levels } from './levels.js';
import {
  brokerPolicySchema,
  identityProviderSchema,
  levelsSchema,
  walletProviderSchema,
  relyingPartySchema,
  type BrokerPolicy,
  type IdentityProviderPolicy,
  type RelyingPartyPolicy,
  type SecretRef,
  type WalletProviderPolicy,
} from './schema.js';

/** The policies folder shipped with the project. */
export const defaultPoliciesDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface PolicyIssue {
  /** Path of the file, relative to the policies folder. */
  file: string;
  /** Dotted path of the field, e.g. "certified.confidence" or "redirect_uris.0". Empty for the whole file. */
  field: string;
  message: string;
}

export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  constructor(readonly issues: PolicyIssue[]) {
    super(`The policies are not valid:\n${issues.map(formatIssue).join('\n')}`);
  }
}

export function formatIssue(issue: PolicyIssue): string {
  return `  ${issue.file}${issue.field ? ` (${issue.field})` : ''}: ${issue.message}`;
}

export interface Policies {
  /** Absolute path of the folder the policies came from. */
  readonly dir: string;
  readonly levels: Levels;
  readonly broker: BrokerPolicy;
  readonly identityProviders: readonly IdentityProviderPolicy[];
  readonly relyingParties: readonly RelyingPartyPolicy[];
  /** Certified wallet providers (`kind: wallet` in identity-providers/): the broker verifies their presentations. */
  readonly walletProviders: readonly WalletProviderPolicy[];
  /** Problems that do not stop the broker (e.g. an expired certification: that IdP is not offered). */
  readonly warnings: readonly PolicyIssue[];
  /**
   * Text a citizen reads that has no Welsh (`cy:`) beside it. The broker starts and shows the
   * English there; `npm run policies:check` fails until it is written.
   */
  readonly missingWelsh: readonly PolicyIssue[];
  identityProvider(id: string): IdentityProviderPolicy | undefined;
  walletProvider(id: string): WalletProviderPolicy | undefined;
  /** A file in the policies folder (relative path), as text. */
  readFile(path: string): string;
  relyingParty(clientId: string): RelyingPartyPolicy | undefined;
  /** Read a key or secret reference (file relative to the policies folder, or an environment variable). */
  readSecret(ref: SecretRef): string;
  /** The service's public keys (inline, from jwks_file), or undefined when it uses jwks_uri or a secret. */
  relyingPartyJwks(rp: RelyingPartyPolicy): { keys: Record<string, unknown>[] } | undefined;
}

export interface LoadOptions {
  /** "Now", for certification expiry warnings. Default: the current time. */
  now?: Date;
  /** Environment for `env` secret references. Default: process.env. */
  env?: Record<string, string | undefined>;
}

export function loadPolicies(dir: string = defaultPoliciesDir, options: LoadOptions = {}): Policies {
  const root = resolve(dir);
  const env = options.env ?? process.env;
  const now = options.now ?? new Date();
  const issues: PolicyIssue[] = [];
  const warnings: PolicyIssue[] = [];
  const missingWelsh: PolicyIssue[] = [];
  const rel = (path: string) => relative(root, path) || path;

  function readYaml<S extends z.ZodType>(path: string, schema: S): z.infer<S> | undefined {
    const file = rel(path);
    if (!existsSync(path)) {
      issues.push({ file, field: '', message: 'the file is missing' });
      return undefined;
    }
    const doc = parseDocument(readFileSync(path, 'utf8'), { prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const line = e.linePos?.[0]?.line;
        issues.push({ file, field: '', message: `not valid YAML${line ? ` at line ${line}` : ''}: ${e.message.split('\n')[0]}` });
      }
      return undefined;
    }
    const result = schema.safeParse(doc.toJS() ?? {});
    if (!result.success) {
      for (const issue of result.error.issues) {
        issues.push({ file, field: issue.path.join('.'), message: describeZodIssue(issue) });
      }
      return undefined;
    }
    return result.data;
  }

  function listYaml(sub: string): string[] {
    const folder = join(root, sub);
    if (!existsSync(folder)) {
      issues.push({ file: sub, field: '', message: 'the folder is missing' });
      return [];
    }
    return readdirSync(folder)
      .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
      .sort()
      .map((f) => join(folder, f));
  }

  function readSecret(ref: SecretRef): string {
    if ('file' in ref) return readFileSync(resolve(root, ref.file), 'utf8');
    const value = env[ref.env];
    if (value === undefined || value === '') throw new Error(`environment variable ${ref.env} is not set`);
    return value;
  }

  const levelsFile = readYaml(join(root, 'levels.yaml'), levelsSchema);
  const broker = readYaml(join(root, 'broker.yaml'), brokerPolicySchema);
  let levels: Levels | undefined;
  if (levelsFile) {
    levels = new Levels(levelsFile);
    const seen = new Set<string>();
    for (const [kind, list] of [['confidence', levelsFile.confidence], ['authentication', levelsFile.authentication]] as const) {
      list.forEach((l, i) => {
        if (seen.has(l.id)) issues.push({ file: 'levels.yaml', field: `${kind}.${i}.id`, message: `"${l.id}" is defined twice` });
        seen.add(l.id);
        if (!l.cy) missingWelsh.push({ file: 'levels.yaml', field: `${kind}.${i}.cy.name`, message: `no Welsh name for "${l.name}"` });
      });
    }
    levelsFile.rules.forEach((rule, i) => {
      if (levels!.confidenceRank(rule.confidence_at_least) < 0)
        issues.push({ file: 'levels.yaml', field: `rules.${i}.confidence_at_least`, message: `unknown identity confidence "${rule.confidence_at_least}"` });
      if (levels!.authenticationRank(rule.authentication_at_least) < 0)
        issues.push({ file: 'levels.yaml', field: `rules.${i}.authentication_at_least`, message: `unknown authentication level "${rule.authentication_at_least}"` });
    });
    const profileNames = new Map<string, string>();
    levelsFile.confidence.forEach((c, i) => {
      const names = Object.keys(c.profiles);
      if (i > 0 && names.length === 0)
        issues.push({ file: 'levels.yaml', field: `confidence.${i}.profiles`, message: `${c.id} has no GPG 45 profile: no provider could reach it` });
      if (i === 0 && names.length > 0)
        issues.push({ file: 'levels.yaml', field: `confidence.${i}.profiles`, message: `${c.id} is the lowest level (reached with no evidence): it takes no profiles` });
      for (const name of names) {
        if (profileNames.has(name))
          issues.push({ file: 'levels.yaml', field: `confidence.${i}.profiles.${name}`, message: `profile ${name} is also under ${profileNames.get(name)}` });
        profileNames.set(name, c.id);
      }
    });
    for (const [alias, vector] of Object.entries(levelsFile.acr_aliases)) {
      try {
        levels.parseVector(vector);
      } catch (e) {
        issues.push({ file: 'levels.yaml', field: `acr_aliases.${alias}`, message: (e as Error).message });
      }
    }
  }

  const checkVector = (file: string, field: string, value: string) => {
    if (!levels) return undefined;
    try {
      return levels.parseVector(value);
    } catch (e) {
      issues.push({ file, field, message: e instanceof LevelError ? e.message : String(e) });
      return undefined;
    }
  };

  const identityProviders: IdentityProviderPolicy[] = [];
  const idpIds = new Map<string, string>();
  const issuers = new Map<string, string>();
  const walletProviders: WalletProviderPolicy[] = [];
  for (const path of listYaml('identity-providers')) {
    if (kindOf(path) === 'wallet') {
      const wallet = readYaml(path, walletProviderSchema);
      if (!wallet) continue;
      const file = rel(path);
      if (idpIds.has(wallet.id)) issues.push({ file, field: 'id', message: `"${wallet.id}" is also the id in ${idpIds.get(wallet.id)}` });
      idpIds.set(wallet.id, file);
      checkWallet(file, wallet);
      checkCertification(file, wallet);
      checkProviderWelsh(file, wallet);
      walletProviders.push(wallet);
      continue;
    }
    const idp = readYaml(path, identityProviderSchema);
    if (!idp) continue;
    const file = rel(path);
    if (idpIds.has(idp.id)) issues.push({ file, field: 'id', message: `"${idp.id}" is also the id in ${idpIds.get(idp.id)}` });
    idpIds.set(idp.id, file);
    if (issuers.has(idp.issuer)) issues.push({ file, field: 'issuer', message: `${idp.issuer} is also the issuer in ${issuers.get(idp.issuer)}` });
    issuers.set(idp.issuer, file);
    if (levels) {
      if (levels.confidenceRank(idp.certified.confidence) < 0)
        issues.push({ file, field: 'certified.confidence', message: `unknown identity confidence "${idp.certified.confidence}" (levels.yaml has ${levels.confidence.map((c) => c.id).join(', ')})` });
      if (levels.authenticationRank(idp.certified.authentication) < 0)
        issues.push({ file, field: 'certified.authentication', message: `unknown authentication level "${idp.certified.authentication}" (levels.yaml has ${levels.authentication.map((a) => a.id).join(', ')})` });
    }
    if (new Date(`${idp.certification_expires}T23:59:59Z`) < now) {
      warnings.push({ file, field: 'certification_expires', message: `certification expired on ${idp.certification_expires}: this provider will not be offered` });
    }
    checkCertification(file, idp);
    try {
      readSecret(idp.broker_client.private_key);
    } catch (e) {
      issues.push({ file, field: 'broker_client.private_key', message: `cannot be read: ${(e as Error).message}` });
    }
    checkProviderWelsh(file, idp);
    identityProviders.push(idp);
  }
  if (identityProviders.length === 0 && !issues.some((i) => i.file.startsWith('identity-providers')))
    issues.push({ file: 'identity-providers', field: '', message: 'no identity provider is defined' });

  /**
   * The certification record against levels.yaml, `certified` and the calendar. An IdP's profiles
   * must reach its certified confidence; a wallet is a holder service provider with no profiles of
   * its own (its credential issuers' levels give the confidence).
   */
  function checkCertification(file: string, idp: IdentityProviderPolicy | WalletProviderPolicy): void {
    const c = idp.certification;
    const day = (d: string) => new Date(`${d}T00:00:00Z`).getTime();
    const wallet = idp.kind === 'wallet';
    if (wallet) {
      if (c.role !== 'holder_service_provider')
        issues.push({ file, field: 'certification.role', message: `is ${c.role}: a wallet is certified as a holder_service_provider` });
      if (c.profiles.length > 0)
        issues.push({ file, field: 'certification.profiles', message: 'must be empty for a wallet: its confidence comes from credential_issuers[].level, not from checks of its own' });
    }
    if (levels && !wallet) {
      let highest = 0;
      c.profiles.forEach((name, i) => {
        const level = levels!.profileLevel(name);
        if (!level) {
          issues.push({ file, field: `certification.profiles.${i}`, message: `unknown GPG 45 profile "${name}" (levels.yaml has ${levels!.profiles().map((p) => p.name).join(', ')})` });
          return;
        }
        highest = Math.max(highest, levels!.confidenceRank(level));
      });
      const certifiedRank = levels.confidenceRank(idp.certified.confidence);
      if (certifiedRank >= 0 && certifiedRank !== highest) {
        const reached = levels.confidence[highest]?.id ?? 'P0';
        issues.push({
          file,
          field: 'certified.confidence',
          message: `is ${idp.certified.confidence}, but the profiles in certification.profiles reach ${reached}: certify a ${idp.certified.confidence} profile or set ${reached}`,
        });
      }
    }
    if (levels) {
      let highestAuth = -1;
      c.authentication.forEach((a, i) => {
        const rank = levels!.authenticationRank(a);
        if (rank < 0) issues.push({ file, field: `certification.authentication.${i}`, message: `unknown authentication level "${a}" (levels.yaml has ${levels!.authentication.map((x) => x.id).join(', ')})` });
        highestAuth = Math.max(highestAuth, rank);
      });
      const authRank = levels.authenticationRank(idp.certified.authentication);
      if (authRank >= 0 && highestAuth >= 0 && authRank !== highestAuth) {
        issues.push({ file, field: 'certified.authentication', message: `is ${idp.certified.authentication}, but certification.authentication goes up to ${levels.authentication[highestAuth]!.id}` });
      }
    }
    if (day(c.issued) >= day(idp.certification_expires))
      issues.push({ file, field: 'certification.issued', message: `${c.issued} is not before certification_expires ${idp.certification_expires}` });
    else if (day(idp.certification_expires) - day(c.issued) > (3 * 366) * 86_400_000)
      warnings.push({ file, field: 'certification_expires', message: `a certificate lasts at most three years: ${c.issued} to ${idp.certification_expires} is longer` });
    if (day(c.last_surveillance_audit) < day(c.issued))
      issues.push({ file, field: 'certification.last_surveillance_audit', message: `${c.last_surveillance_audit} is before the certificate was issued (${c.issued})` });
    else if (day(c.last_surveillance_audit) > now.getTime())
      warnings.push({ file, field: 'certification.last_surveillance_audit', message: `${c.last_surveillance_audit} is in the future` });
    else if (now.getTime() - day(c.last_surveillance_audit) > 365 * 86_400_000 && day(c.issued) + 365 * 86_400_000 < now.getTime())
      warnings.push({ file, field: 'certification.last_surveillance_audit', message: `the yearly surveillance audit is overdue (last on ${c.last_surveillance_audit})` });
    if (!c.trust_framework.cy)
      missingWelsh.push({ file, field: 'certification.trust_framework.cy.name', message: `no Welsh name for "${c.trust_framework.name}"` });
    if (c.register.status === 'withdrawn')
      warnings.push({ file, field: 'certification.register.status', message: 'withdrawn from the register: this provider will not be offered' });
  }

  function checkProviderWelsh(file: string, p: IdentityProviderPolicy | WalletProviderPolicy): void {
    if (!p.cy) {
      missingWelsh.push({ file, field: 'cy', message: 'no Welsh text (cy.what_you_will_need, and cy.description when there is a description)' });
      return;
    }
    if (p.description && !p.cy.description) missingWelsh.push({ file, field: 'cy.description', message: 'no Welsh for the description' });
    if (p.cy.what_you_will_need.length !== p.what_you_will_need.length)
      issues.push({ file, field: 'cy.what_you_will_need', message: `must list the same ${p.what_you_will_need.length} things as what_you_will_need, in Welsh` });
  }

  function checkWallet(file: string, wallet: WalletProviderPolicy): void {
    if (levels) {
      if (levels.confidenceRank(wallet.certified.confidence) < 0)
        issues.push({ file, field: 'certified.confidence', message: `unknown identity confidence "${wallet.certified.confidence}" (levels.yaml has ${levels.confidence.map((c) => c.id).join(', ')})` });
      if (levels.authenticationRank(wallet.certified.authentication) < 0)
        issues.push({ file, field: 'certified.authentication', message: `unknown authentication level "${wallet.certified.authentication}" (levels.yaml has ${levels.authentication.map((a) => a.id).join(', ')})` });
    }
    if (new Date(`${wallet.certification_expires}T23:59:59Z`) < now) {
      warnings.push({ file, field: 'certification_expires', message: `certification expired on ${wallet.certification_expires}: this provider will not be offered` });
    }
    const seen = new Set<string>();
    wallet.credential_issuers.forEach((ci, i) => {
      const at = `credential_issuers.${i}`;
      if (seen.has(ci.issuer)) issues.push({ file, field: `${at}.issuer`, message: `${ci.issuer} is listed twice` });
      seen.add(ci.issuer);
      if (levels) {
        const rank = levels.confidenceRank(ci.level.confidence);
        if (rank < 0) issues.push({ file, field: `${at}.level.confidence`, message: `unknown identity confidence "${ci.level.confidence}" (levels.yaml has ${levels.confidence.map((c) => c.id).join(', ')})` });
        else if (levels.confidenceRank(wallet.certified.confidence) >= 0 && rank > levels.confidenceRank(wallet.certified.confidence))
          issues.push({ file, field: `${at}.level.confidence`, message: `${ci.level.confidence} is above the wallet's certified confidence ${wallet.certified.confidence}` });
      }
      if (ci.jwks_file) {
        try {
          const jwks = JSON.parse(readFileSync(resolve(root, ci.jwks_file), 'utf8')) as Record<string, unknown>;
          const keys = Array.isArray(jwks.keys) ? (jwks.keys as Record<string, unknown>[]) : [jwks];
          if (keys.some((k) => 'd' in k)) issues.push({ file, field: `${at}.jwks_file`, message: 'holds a private key: give the issuer public keys only' });
        } catch (e) {
          issues.push({ file, field: `${at}.jwks_file`, message: `cannot be read as JSON: ${(e as Error).message}` });
        }
      }
      ci.x5c_roots?.forEach((pem, j) => {
        try {
          if (readPemCertificates(readFileSync(resolve(root, pem), 'utf8')).length === 0) throw new Error('no certificate in the file');
        } catch (e) {
          issues.push({ file, field: `${at}.x5c_roots.${j}`, message: `cannot be read as a PEM certificate: ${(e as Error).message}` });
        }
      });
    });
    let privateJwk: Record<string, unknown> | undefined;
    try {
      privateJwk = JSON.parse(readSecret(wallet.broker_verifier.private_key)) as Record<string, unknown>;
      if (privateJwk.kty !== 'EC' || privateJwk.crv !== 'P-256' || !privateJwk.d) throw new Error('not a private ES256 (P-256) JWK');
    } catch (e) {
      privateJwk = undefined;
      issues.push({ file, field: 'broker_verifier.private_key', message: `cannot be read: ${(e as Error).message}` });
    }
    try {
      const chain = readPemCertificates(readFileSync(resolve(root, wallet.broker_verifier.certificate_chain), 'utf8'));
      if (chain.length === 0) throw new Error('no certificate in the file');
      if (privateJwk) {
        const fromKey = createPublicKey(createPrivateKey({ key: privateJwk as never, format: 'jwk' })).export({ format: 'jwk' });
        const fromCert = chain[0]!.publicKey.export({ format: 'jwk' });
        if (fromKey.x !== fromCert.x || fromKey.y !== fromCert.y)
          issues.push({ file, field: 'broker_verifier.certificate_chain', message: 'the first certificate is not for broker_verifier.private_key' });
      }
    } catch (e) {
      issues.push({ file, field: 'broker_verifier.certificate_chain', message: `cannot be read as PEM certificates: ${(e as Error).message}` });
    }
  }

  const relyingParties: RelyingPartyPolicy[] = [];
  const clientIds = new Map<string, string>();
  for (const path of listYaml('relying-parties')) {
    const rp = readYaml(path, relyingPartySchema);
    if (!rp) continue;
    const file = rel(path);
    if (clientIds.has(rp.client_id)) issues.push({ file, field: 'client_id', message: `"${rp.client_id}" is also the client_id in ${clientIds.get(rp.client_id)}` });
    clientIds.set(rp.client_id, file);
    const min = checkVector(file, 'minimum_level', rp.minimum_level);
    const def = checkVector(file, 'default_level', rp.default_level);
    if (levels && min && def && !levels.satisfies(def, min))
      issues.push({ file, field: 'default_level', message: `${rp.default_level} is below the minimum_level ${rp.minimum_level}` });
    // Providers are asked for the standard set only: a service cannot be given anything outside it.
    if (broker) {
      rp.permitted_attributes.forEach((a, i) => {
        if (!broker.identity_provider_request.attributes.includes(a))
          issues.push({ file, field: `permitted_attributes.${i}`, message: `${a} is not in the federation's standard attribute request (broker.yaml identity_provider_request.attributes)` });
      });
    }
    if (rp.jwks_file) {
      try {
        const jwk = JSON.parse(readFileSync(resolve(root, rp.jwks_file), 'utf8')) as Record<string, unknown>;
        if ('d' in jwk || (Array.isArray(jwk.keys) && (jwk.keys as Record<string, unknown>[]).some((k) => 'd' in k)))
          issues.push({ file, field: 'jwks_file', message: 'holds a private key: give the service public keys only' });
      } catch (e) {
        issues.push({ file, field: 'jwks_file', message: `cannot be read as JSON: ${(e as Error).message}` });
      }
    }
    if (rp.client_secret) {
      try {
        readSecret(rp.client_secret);
      } catch (e) {
        issues.push({ file, field: 'client_secret', message: `cannot be read: ${(e as Error).message}` });
      }
    }
    if (!rp.cy) missingWelsh.push({ file, field: 'cy', message: 'no Welsh text (cy.display_name, cy.organisation and cy.other_ways)' });
    relyingParties.push(rp);
  }

  if (issues.length > 0 || !levels || !broker) throw new PolicyError(issues);

  const idpById = new Map(identityProviders.map((i) => [i.id, i]));
  const walletById = new Map(walletProviders.map((w) => [w.id, w]));
  const rpById = new Map(relyingParties.map((r) => [r.client_id, r]));
  return {
    dir: root,
    levels,
    broker,
    identityProviders,
    relyingParties,
    walletProviders,
    warnings,
    missingWelsh,
    identityProvider: (id) => idpById.get(id),
    walletProvider: (id) => walletById.get(id),
    readFile: (path) => readFileSync(resolve(root, path), 'utf8'),
    relyingParty: (clientId) => rpById.get(clientId),
    readSecret,
    relyingPartyJwks(rp) {
      if (rp.jwks) return rp.jwks;
      if (!rp.jwks_file) return undefined;
      const parsed = JSON.parse(readFileSync(resolve(root, rp.jwks_file), 'utf8')) as Record<string, unknown>;
      return Array.isArray(parsed.keys) ? (parsed as { keys: Record<string, unknown>[] }) : { keys: [parsed] };
    },
  };
}

/** The certificates in a PEM text, in order. */
export function readPemCertificates(pem: string): X509Certificate[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map((m) => new X509Certificate(m[0]));
}

/** The `kind` a provider file declares (read before validation picks the schema). */
function kindOf(path: string): string | undefined {
  try {
    const doc = parseDocument(readFileSync(path, 'utf8'), { prettyErrors: false }).toJS() as { kind?: unknown } | null;
    return typeof doc?.kind === 'string' ? doc.kind : undefined;
  } catch {
    return undefined;
  }
}

function describeZodIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? `is required (${issue.expected})` : `must be ${issue.expected}`;
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}`;
    case 'invalid_value':
      return `must be one of: ${issue.values.map(String).join(', ')}`;
    default:
      return issue.message;
  }
}
