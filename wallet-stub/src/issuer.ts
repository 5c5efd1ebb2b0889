/**
 * The stub PID issuer: SD-JWT VC person identification credentials (vct urn:eudi:pid:1, claim
 * names after the EU PID rulebook) for the demo identities, signed ES256 with an x5c chain to the
 * development root in policies/dev-keys, and one Token Status List (@sd-jwt/jwt-status-list) that
 * the revoked switch writes to.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { ES256, digest, generateSalt } from '@sd-jwt/crypto-nodejs';
import { StatusList, createHeaderAndPayload } from '@sd-jwt/jwt-status-list';
import { SignJWT, importJWK, type JWK } from 'jose';
import { defaultPoliciesDir, readPemCertificates } from '@idbroker/policies';
import type { DemoIdentity } from '@idbroker/idp-stub';

export const PID_VCT = 'urn:eudi:pid:1';
const STATUS_LIST_SIZE = 1024;

export interface IssuedCredential {
  username: string;
  /** The SD-JWT VC as issued (issuer-signed JWT and every disclosure). */
  sdJwt: string;
  /** The holder's private key (the wallet's device key for this credential). */
  holderKey: JsonWebKey;
  statusIndex: number;
}

export interface PidIssuerOptions {
  /** The issuer identifier (`iss`): the stub's URL + /pid-issuer. */
  issuer: string;
  /** Where the status list is served: the stub's URL + /status/1. */
  statusListUri: string;
  /** Policies folder with dev-keys/pid-issuer.* (default: the shipped one). */
  policiesDir?: string;
  now?: () => Date;
}

export class PidIssuer {
  private readonly list = new StatusList(new Array(STATUS_LIST_SIZE).fill(0), 1);
  private next = 0;
  private readonly x5c: string[];
  private readonly jwk: JWK;

  constructor(private readonly options: PidIssuerOptions) {
    const dir = options.policiesDir ?? defaultPoliciesDir;
    this.jwk = JSON.parse(readFileSync(resolve(dir, 'dev-keys/pid-issuer.private.jwk.json'), 'utf8')) as JWK;
    this.x5c = readPemCertificates(readFileSync(resolve(dir, 'dev-keys/pid-issuer.cert.pem'), 'utf8')).map((c) => c.raw.toString('base64'));
  }

  get issuer(): string {
    return this.options.issuer;
  }

  private nowSeconds(): number {
    return Math.floor((this.options.now?.() ?? new Date()).getTime() / 1000);
  }

  /** Issue a PID to one demo identity, bound to a fresh holder key. `validFor` in seconds (negative: already expired). */
  async issue(person: DemoIdentity, validFor = 365 * 86_400): Promise<IssuedCredential> {
    const holder = await ES256.generateKeyPair();
    const statusIndex = this.next++ % STATUS_LIST_SIZE;
    this.list.setStatus(statusIndex, 0);
    const sdjwt = new SDJwtVcInstance({
      signer: await ES256.getSigner(this.jwk as JsonWebKey),
      signAlg: 'ES256',
      hasher: digest,
      hashAlg: 'sha-256',
      saltGenerator: generateSalt,
    });
    const iat = this.nowSeconds() + Math.min(0, validFor) - 60;
    const claims = {
      iss: this.options.issuer,
      iat,
      nbf: iat,
      exp: iat + 60 + Math.abs(validFor) * Math.sign(validFor || 1),
      vct: PID_VCT,
      // A pseudonymous, stable subject per person at this issuer.
      sub: `pid-${Buffer.from(person.username).toString('base64url')}`,
      cnf: { jwk: { kty: holder.publicKey.kty, crv: holder.publicKey.crv, x: holder.publicKey.x, y: holder.publicKey.y } },
      status: { status_list: { idx: statusIndex, uri: this.options.statusListUri } },
      given_name: person.given_name,
      family_name: person.family_name,
      birthdate: person.birthdate,
      address: { ...person.address },
      nationalities: ['GB'],
    };
    const sdJwt = await sdjwt.issue(claims, { _sd: ['given_name', 'family_name', 'birthdate', 'address', 'nationalities'] }, { header: { x5c: this.x5c } });
    return { username: person.username, sdJwt, holderKey: holder.privateKey, statusIndex };
  }

  revoke(statusIndex: number, revoked = true): void {
    this.list.setStatus(statusIndex, revoked ? 1 : 0);
  }

  /** The status list token (typ statuslist+jwt), signed like the credentials. */
  async statusListJwt(): Promise<string> {
    const iat = this.nowSeconds();
    const { header, payload } = createHeaderAndPayload(this.list, { iss: this.options.issuer, sub: this.options.statusListUri, iat, exp: iat + 600, ttl: 60 }, { alg: 'ES256', typ: 'statuslist+jwt' });
    return new SignJWT(payload as never).setProtectedHeader({ ...header, alg: 'ES256', x5c: this.x5c }).sign(await importJWK(this.jwk, 'ES256'));
  }
}

/** A random value for stub internals (request ids). */
export const randomId = () => randomBytes(18).toString('base64url');
