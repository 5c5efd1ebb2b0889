/**
 * Subjects. Inside the broker a person is known only by an internal subject, a keyed hash
 * of (IdP, IdP's subject); each service sector sees a pairwise subject derived from it.
 * So the same person gets a different `sub` at every sector and through every IdP, and
 * the same `sub` every time at one sector through one IdP (as in GOV.UK Verify).
 */
import { createHmac } from 'node:crypto';

export function internalSubject(key: Uint8Array, idpId: string, idpSubject: string): string {
  return createHmac('sha256', key).update(`idp\0${idpId}\0${idpSubject}`).digest('base64url');
}

export function pairwiseSubject(key: Uint8Array, sectorIdentifier: string, internal: string): string {
  return createHmac('sha256', key).update(`sector\0${sectorIdentifier}\0${internal}`).digest('base64url');
}
