/**
 * The trust framework's file formats, as zod schemas. The types every part uses are
 * inferred from these, so the documentation in policies/README.md, the validation at
 * start-up and the code cannot drift apart.
 */
import { z } from 'zod';

const id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'must be lower-case letters, digits and hyphens (2 to 63 characters)');
const url = z.url({ message: 'must be an absolute URL' });
const httpUrl = url.refine((u) => /^https?:\/\//.test(u), 'must be an http or https URL');
const date = z.iso.date({ message: 'must be a date written YYYY-MM-DD' });

const floorsEidas = z.enum(['none', 'low', 'substantial', 'high']);

const gpg45Score = z.number().int('must be a whole number from 0 to 4').min(0, 'must be from 0 to 4').max(4, 'must be from 0 to 4');

/** One GPG 45 profile: pieces of evidence as [strength, validity], then activity, fraud, verification. */
export const gpg45ProfileSchema = z.strictObject({
  evidence: z.array(z.tuple([gpg45Score, gpg45Score])).min(1, 'needs at least one piece of evidence').max(3),
  activity: gpg45Score,
  fraud: gpg45Score,
  verification: gpg45Score,
});

export const profileNameSchema = z.string().regex(/^[A-Z][0-9][A-Z]$/, 'must be a GPG 45 profile name such as M1B');

/**
 * Welsh display text (`cy:`) beside the English. Optional to the loader, so a broker still starts
 * (showing English) when a new policy lacks it, but `policies:check` fails: every text a citizen
 * reads must exist in Welsh too (the Welsh Language Standards).
 */
const welshName = z.strictObject({ name: z.string().min(1) });
const welshProvider = z.strictObject({
  display_name: z.string().min(1).optional(),
  description: z.string().min(1).optional(),
  what_you_will_need: z.array(z.string().min(1)).min(1),
});

export const confidenceLevelSchema = z.strictObject({
  id: z.string().regex(/^P[0-9]$/, 'must be P followed by one digit, e.g. P2'),
  name: z.string().min(1),
  gpg45: z.enum(['none', 'low', 'medium', 'high', 'very-high']),
  floors: z.strictObject({ eidas: floorsEidas, nist_ial: z.enum(['IAL1', 'IAL2', 'IAL3']) }),
  /** The GPG 45 profiles that reach this level (none for P0). */
  profiles: z.record(profileNameSchema, gpg45ProfileSchema).default({}),
  cy: welshName.optional(),
});

/** RFC 8176 authentication method reference values. */
export const amrValueSchema = z.enum(['pwd', 'pin', 'otp', 'sms', 'tel', 'swk', 'hwk', 'user', 'fpt', 'face', 'iris', 'retina', 'vbm', 'kba', 'mfa', 'mca', 'sc', 'geo', 'wia', 'rba']);

export const authenticationLevelSchema = z.strictObject({
  id: z.string().regex(/^C[a-z](\.C[a-z])*$/, 'must be credential components such as Cl or Cl.Cm'),
  name: z.string().min(1),
  gpg44: z.enum(['none', 'low', 'medium', 'high']),
  floors: z.strictObject({ eidas: floorsEidas, nist_aal: z.enum(['AAL1', 'AAL2', 'AAL3']) }),
  /** GPG 44 authenticator requirements: in words, and as the amr sets (any one, all of its values) that meet them. */
  authenticators: z.strictObject({
    requirement: z.string().min(1),
    amr: z.array(z.array(amrValueSchema).min(1)).min(1),
  }),
  cy: welshName.optional(),
});

/**
 * A certification record under the digital verification services trust framework: who certified
 * the provider, for what, until when, and its entry on the public register.
 */
export const certificationSchema = z
  .strictObject({
    trust_framework: z.strictObject({
      name: z.string().min(1),
      version: z.string().regex(/^\d+\.\d+(\.\d+)?$/, 'must be a version such as 1.0'),
      /** The framework's name in Welsh (shown in the picker and on /performance). */
      cy: welshName.optional(),
    }),
    role: z.enum(['identity_service_provider', 'attribute_service_provider', 'orchestration_service_provider', 'holder_service_provider']),
    certification_body: z.strictObject({ name: z.string().min(1), ukas_accreditation: z.string().min(1) }),
    certificate_reference: z.string().min(3),
    issued: date,
    last_surveillance_audit: date,
    register: z.strictObject({
      entry: httpUrl,
      status: z.enum(['listed', 'withdrawn']),
      /** When the entry was withdrawn (optional; the status is what counts). */
      withdrawn_on: date.optional(),
    }),
    /** The GPG 45 profiles the provider is certified to check (names from levels.yaml). */
    profiles: z.array(profileNameSchema).default([]),
    /** The authentication levels (ids from levels.yaml) it is certified for. */
    authentication: z.array(z.string()).min(1),
    supplementary_codes: z.array(z.enum(['right_to_work', 'right_to_rent', 'dbs_basic', 'dbs_standard', 'dbs_enhanced'])).default([]),
  });

export const levelsSchema = z.strictObject({
  confidence: z.array(confidenceLevelSchema).min(1),
  authentication: z.array(authenticationLevelSchema).min(1),
  rules: z
    .array(z.strictObject({ confidence_at_least: z.string(), authentication_at_least: z.string() }))
    .default([]),
  acr_aliases: z.record(z.string(), z.string()).default({}),
});

/** Where a secret or key comes from: a file (relative to the policies folder) or an environment variable. */
export const secretRefSchema = z.union([
  z.strictObject({ file: z.string().min(1) }),
  z.strictObject({ env: z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'must be an environment variable name') }),
]);

export const identityProviderSchema = z.strictObject({
  /** `idp` (OpenID Connect; the default) or `wallet` (walletProviderSchema). */
  kind: z.literal('idp').optional(),
  id,
  display_name: z.string().min(1),
  organisation_type: z.enum(['public', 'not-for-profit', 'company']),
  description: z.string().min(1).optional(),
  issuer: httpUrl,
  certified: z.strictObject({ confidence: z.string(), authentication: z.string() }),
  certification_expires: date,
  /** The certificate behind `certified` and `certification_expires` (policies/README.md). */
  certification: certificationSchema,
  status: z.enum(['enabled', 'suspended']),
  what_you_will_need: z.array(z.string().min(1)).min(1),
  /** The same text in Welsh. */
  cy: welshProvider.optional(),
  broker_client: z.strictObject({
    client_id: z.string().min(1),
    private_key: secretRefSchema,
  }),
});

/** A credential issuer a wallet provider's credentials may come from (docs/wallets.md). */
export const credentialIssuerSchema = z
  .strictObject({
    /** The `iss` of its SD-JWT VCs. */
    issuer: url,
    display_name: z.string().min(1),
    /** Credential types (SD-JWT VC `vct`) accepted from this issuer. */
    vct: z.array(z.string().min(1)).min(1),
    /** Its public signing keys (JWK set, inline or a file), or the roots its `x5c` chains must end in (PEM files). */
    jwks: z.strictObject({ keys: z.array(z.record(z.string(), z.unknown())).min(1) }).optional(),
    jwks_file: z.string().min(1).optional(),
    x5c_roots: z.array(z.string().min(1)).min(1).optional(),
    /** The identity confidence its credential reaches, and the evidence behind it (as certified). */
    level: z.strictObject({
      confidence: z.string(),
      evidence: z.array(z.string().min(1)).min(1),
    }),
    /** Token Status Lists: where they may be fetched from; `required` refuses credentials without a status. */
    status_list: z.strictObject({ uri_prefix: httpUrl, required: z.boolean().default(false) }).optional(),
  })
  .superRefine((ci, ctx) => {
    const sources = [ci.jwks, ci.jwks_file, ci.x5c_roots].filter((k) => k !== undefined).length;
    if (sources !== 1) ctx.addIssue({ code: 'custom', path: ['jwks'], message: 'give exactly one of jwks, jwks_file and x5c_roots' });
  });

/** A certified wallet (holder) provider: the broker is an OpenID4VP verifier towards it. */
export const walletProviderSchema = z.strictObject({
  kind: z.literal('wallet'),
  id,
  display_name: z.string().min(1),
  organisation_type: z.enum(['public', 'not-for-profit', 'company']),
  description: z.string().min(1).optional(),
  wallet: z.strictObject({
    /** Where same-device requests go: the wallet's custom scheme (openid4vp://, haip-vp://) or its https URL. */
    authorization_endpoint: z.string().regex(/^(openid4vp|haip-vp|eudi-openid4vp|https?):\/\/[^\s]*$/, 'must be an openid4vp://, haip-vp:// or http(s):// URL'),
    /** Offer a QR code for a wallet on another device. */
    cross_device: z.boolean().default(true),
  }),
  /** Authentication: what the wallet's holder binding reaches; confidence: the most any issuer's credential may give. */
  certified: z.strictObject({ confidence: z.string(), authentication: z.string() }),
  certification_expires: date,
  /**
   * The wallet's certificate under the trust framework, as a holder service provider (the role
   * that holds a person's credentials and presents them): checked and shown like an IdP's.
   */
  certification: certificationSchema,
  status: z.enum(['enabled', 'suspended']),
  what_you_will_need: z.array(z.string().min(1)).min(1),
  /** The same text in Welsh. */
  cy: welshProvider.optional(),
  credential_issuers: z.array(credentialIssuerSchema).min(1),
  /** The broker's verifier identity towards this wallet (x509_hash client identifier, HAIP). */
  broker_verifier: z.strictObject({
    private_key: secretRefSchema,
    /** PEM file, leaf first: the leaf's SHA-256 hash is the client_id. */
    certificate_chain: z.string().min(1),
  }),
});

export const attributeNameSchema = z.enum([
  'given_name',
  'family_name',
  'birthdate',
  'address',
  'place_of_birth',
  'nationalities',
  'email',
  'phone_number',
]);

export const extraAttributeSchema = z.enum(['ni_number']);

export const relyingPartySchema = z
  .strictObject({
    client_id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{1,127}$/, 'must be letters, digits, dot, underscore or hyphen'),
    display_name: z.string().min(1),
    organisation: z.string().min(1),
    redirect_uris: z.array(httpUrl).min(1),
    token_endpoint_auth_method: z.enum(['private_key_jwt', 'client_secret_basic', 'client_secret_post']),
    jwks: z.strictObject({ keys: z.array(z.record(z.string(), z.unknown())).min(1) }).optional(),
    jwks_file: z.string().min(1).optional(),
    jwks_uri: httpUrl.optional(),
    client_secret: secretRefSchema.optional(),
    /** When the service's current keys expire (YYYY-MM-DD): the broker warns 30, 14 and 3 days before. */
    keys_expire: date.optional(),
    permitted_attributes: z.array(attributeNameSchema).min(1),
    minimum_level: z.string(),
    default_level: z.string(),
    sector_identifier: z.string().min(1),
    matching: z
      .strictObject({
        url: httpUrl,
        timeout_ms: z.number().int().min(100).max(30_000).default(5_000),
        extra_attribute: extraAttributeSchema.optional(),
        account_creation: z.boolean().default(false),
      })
      .optional(),
    other_ways: z.array(z.strictObject({ text: z.string().min(1), href: httpUrl.optional() })).min(1),
    /** The same text in Welsh: the service's names and its other ways, one for one (same order). */
    cy: z
      .strictObject({
        display_name: z.string().min(1),
        organisation: z.string().min(1),
        other_ways: z.array(z.strictObject({ text: z.string().min(1), href: httpUrl.optional() })).min(1),
      })
      .optional(),
  })
  .superRefine((rp, ctx) => {
    const keySources = [rp.jwks, rp.jwks_file, rp.jwks_uri].filter((k) => k !== undefined).length;
    if (keySources > 1) {
      ctx.addIssue({ code: 'custom', path: ['jwks'], message: 'give only one of jwks, jwks_file and jwks_uri' });
    }
    if (rp.token_endpoint_auth_method === 'private_key_jwt' && keySources === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['token_endpoint_auth_method'],
        message: 'private_key_jwt needs the service keys: one of jwks, jwks_file or jwks_uri',
      });
    }
    if (rp.token_endpoint_auth_method !== 'private_key_jwt' && !rp.client_secret) {
      ctx.addIssue({ code: 'custom', path: ['client_secret'], message: `${rp.token_endpoint_auth_method} needs client_secret` });
    }
    if (rp.cy && rp.cy.other_ways.length !== rp.other_ways.length) {
      ctx.addIssue({ code: 'custom', path: ['cy', 'other_ways'], message: `must list the same ${rp.other_ways.length} ways as other_ways, in Welsh` });
    }
    if (rp.matching && keySources === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['matching'],
        message: 'a matching URL needs the service keys (jwks, jwks_file or jwks_uri) to verify its answers',
      });
    }
  });

const returnCode = z.string().regex(/^[A-Za-z0-9_-]{1,16}$/, 'must be a code of 1 to 16 letters, digits, _ or -');
/**
 * What providers' return codes mean (docs/adr/0006-return-codes.md): each code under who caused
 * the failure. A code may be in one list only.
 */
export const returnCodesSchema = z
  .strictObject({
    /** The person's evidence could not reach the level asked for (no suitable documents, too little history). */
    evidence: z.array(returnCode).default(['N']),
    /** The provider could not complete the check (its own technical failure). */
    provider: z.array(returnCode).default(['T']),
    /** Identity fraud suspected (a contra-indicator over the threshold): no other provider is offered. */
    fraud: z.array(returnCode).default(['F', 'D', 'V']),
  })
  .default({ evidence: ['N'], provider: ['T'], fraud: ['F', 'D', 'V'] })
  .superRefine((rc, ctx) => {
    const seen = new Map<string, string>();
    for (const category of ['evidence', 'provider', 'fraud'] as const) {
      rc[category].forEach((code, i) => {
        const other = seen.get(code);
        if (other) ctx.addIssue({ code: 'custom', path: [category, i], message: `${code} is also under ${other}: a code has one meaning` });
        seen.set(code, category);
      });
    }
  });

export const brokerPolicySchema = z.strictObject({
  journey: z.strictObject({
    ttl_minutes: z.number().int().min(5).max(90, 'must be at most 90 (no journey state is kept longer)').default(90),
  }),
  cases: z.strictObject({
    retention_days: z.number().int().min(1).max(3650),
    overdue_after_days: z.number().int().min(1).max(365).default(5),
    /**
     * An open case with no activity (no staff action, no change) for this many days closes on its
     * own: what the citizen typed, their contact details and the staff notes are deleted then.
     */
    inactive_close_days: z.number().int().min(7, 'must be at least 7 (a week for support to act)').max(365, 'must be at most 365 (no open case keeps what the citizen typed longer)').default(90),
  }),
  audit: z.strictObject({ retention_days: z.number().int().min(1).max(36500) }),
  /** The public /performance page: closed UTC days only, small figures suppressed. */
  performance: z
    .strictObject({
      minimum_journeys: z.number().int().min(1, 'must be at least 1').max(100_000).default(20),
      days: z.number().int().min(1).max(31, 'must be at most 31').default(7),
    })
    .default({ minimum_journeys: 20, days: 7 }),
  /**
   * What every identity provider is asked for, whatever the service: the federation's standard
   * attribute set (docs/adr/0004-standard-attribute-request.md). Every service's
   * permitted_attributes must be within it.
   */
  return_codes: returnCodesSchema,
  identity_provider_request: z
    .strictObject({ attributes: z.array(attributeNameSchema).min(1).refine((a) => new Set(a).size === a.length, 'must not repeat an attribute') })
    .default({ attributes: ['given_name', 'family_name', 'birthdate', 'address'] }),
});

export type LevelsFile = z.infer<typeof levelsSchema>;
export type Certification = z.infer<typeof certificationSchema>;
export type Gpg45ProfileEntry = z.infer<typeof gpg45ProfileSchema>;
export type ConfidenceLevel = z.infer<typeof confidenceLevelSchema>;
export type AuthenticationLevel = z.infer<typeof authenticationLevelSchema>;
export type SecretRef = z.infer<typeof secretRefSchema>;
export type IdentityProviderPolicy = z.infer<typeof identityProviderSchema>;
export type WalletProviderPolicy = z.infer<typeof walletProviderSchema>;
export type CredentialIssuerPolicy = z.infer<typeof credentialIssuerSchema>;
export type RelyingPartyPolicy = z.infer<typeof relyingPartySchema>;
export type BrokerPolicy = z.infer<typeof brokerPolicySchema>;
export type AttributeName = z.infer<typeof attributeNameSchema>;
export type ExtraAttributeName = z.infer<typeof extraAttributeSchema>;
