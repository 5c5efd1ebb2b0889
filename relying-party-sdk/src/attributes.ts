/** Verified attributes as a service uses them. */

/** A verified address (OpenID Connect `address` claim). */
export interface Address {
  formatted?: string;
  street_address?: string;
  locality?: string;
  region?: string;
  postal_code?: string;
  country?: string;
}

/** The verified attributes the citizen consented to share (only those you asked for). */
export interface VerifiedAttributes {
  given_name?: string;
  family_name?: string;
  /** YYYY-MM-DD */
  birthdate?: string;
  address?: Address;
  place_of_birth?: Record<string, string>;
  nationalities?: string[];
  email?: string;
  phone_number?: string;
}

/** The `claims` member of verified_claims, typed; unknown members and wrong types are dropped. */
export function flattenClaims(claims: Record<string, unknown> | undefined): VerifiedAttributes {
  const out: VerifiedAttributes = {};
  if (!claims) return out;
  for (const key of ['given_name', 'family_name', 'birthdate', 'email', 'phone_number'] as const) {
    if (typeof claims[key] === 'string') out[key] = claims[key] as string;
  }
  if (claims.address && typeof claims.address === 'object') out.address = claims.address as Address;
  if (claims.place_of_birth && typeof claims.place_of_birth === 'object') out.place_of_birth = claims.place_of_birth as Record<string, string>;
  if (Array.isArray(claims.nationalities)) out.nationalities = claims.nationalities.map(String);
  return out;
}
