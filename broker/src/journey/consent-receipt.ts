/**
 * Consent receipts: a record of one consent, signed by the broker and kept by the citizen (the
 * broker stores none). The fields follow ISO/IEC TS 27560 (consent record information
 * structure): a receipt id and version, when consent was given, the controller and service, the
 * purpose, what is shared (attribute NAMES only, never values), the level of assurance, and the
 * journey reference that ties it to the federation's records (the citizen's record page and the
 * audit trail). Nothing in it identifies the person or the identity provider.
 *
 * Format: a compact JWS (ES256, `typ: consent-receipt+jwt`), signed with the broker's signing key
 * (the ID-token key), so anyone can verify it against the broker's JWKS (`jwks_uri` in
 * `/.well-known/openid-configuration`). See docs/consent-receipt.md.
 */
import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, SignJWT, importJWK, type JWK } from 'jose';

export const CONSENT_RECEIPT_TYP = 'consent-receipt+jwt';
export const CONSENT_RECEIPT_VERSION = '1.0';

export interface ConsentReceipt {
  /** The broker (issuer URL). */
  iss: string;
  /** Signed at (epoch seconds). */
  iat: number;
  /** The receipt id (27560: record id). */
  jti: string;
  /** 27560: schema version of this record. */
  version: string;
  /** The standard the fields follow. */
  schema: 'ISO/IEC TS 27560';
  /** When consent was given (ISO 8601, UTC). */
  consent_time: string;
  /** 27560: consent type / how it was given. */
  consent_type: 'explicit';
  /** The journey reference (also the `txn` the service receives). */
  journey_reference: string;
  /** The organisation that receives and controls the data (27560: controller). */
  controller: { name: string };
  /** The service the citizen was using. */
  service: { id: string; name: string };
  /** 27560: purpose and legal basis. */
  purposes: Array<{ purpose: string; legal_basis: 'consent' }>;
  /** 27560: personal data categories: the attributes shared, by name (OpenID Connect claim names). */
  attributes: string[];
  /** The level of assurance reached (Vectors of Trust, RFC 8485). */
  level: string;
  /** Who processed the consent on the controller's behalf: the broker. */
  processor: { name: string; id: string };
}

export interface ConsentReceiptInput {
  journeyRef: string;
  consentTime: Date;
  service: { id: string; name: string; organisation: string };
  attributes: string[];
  level: string;
}

export interface ConsentReceipts {
  sign(input: ConsentReceiptInput): Promise<{ jws: string; receipt: ConsentReceipt }>;
  /** The receipt in a JWS, when it is one of ours and unaltered; throws otherwise. */
  verify(jws: string): Promise<ConsentReceipt>;
}

const publicPart = (jwk: Record<string, unknown>): JWK => {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  void [_d, _p, _q, _dp, _dq, _qi];
  return pub as JWK;
};

/** `signingKeys`: the broker's private JWKs, the first signs (as for ID tokens); all verify. */
export function createConsentReceipts(o: { issuer: string; signingKeys: Record<string, unknown>[] }): ConsentReceipts {
  const signer = o.signingKeys[0] as JWK | undefined;
  if (!signer) throw new Error('consent receipts need a signing key');
  const jwks = createLocalJWKSet({ keys: o.signingKeys.map(publicPart) });
  return {
    async sign(input) {
      const receipt: ConsentReceipt = {
        iss: o.issuer,
        iat: Math.floor(Date.now() / 1000),
        jti: randomUUID(),
        version: CONSENT_RECEIPT_VERSION,
        schema: 'ISO/IEC TS 27560',
        consent_time: input.consentTime.toISOString(),
        consent_type: 'explicit',
        journey_reference: input.journeyRef,
        controller: { name: input.service.organisation },
        service: { id: input.service.id, name: input.service.name },
        purposes: [{ purpose: `Proving your identity to ${input.service.name}`, legal_basis: 'consent' }],
        attributes: [...input.attributes],
        level: input.level,
        processor: { name: 'Identity broker', id: o.issuer },
      };
      const key = await importJWK(signer, 'ES256');
      const jws = await new SignJWT({ ...receipt })
        .setProtectedHeader({ alg: 'ES256', typ: CONSENT_RECEIPT_TYP, ...(signer.kid ? { kid: signer.kid } : {}) })
        .sign(key);
      return { jws, receipt };
    },
    async verify(jws) {
      const { payload } = await jwtVerify(jws, jwks, { issuer: o.issuer, algorithms: ['ES256'], typ: CONSENT_RECEIPT_TYP });
      return payload as unknown as ConsentReceipt;
    },
  };
}
