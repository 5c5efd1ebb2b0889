/** The broker as an OpenID client of the certified identity providers. */
export { IdentityProviders, certificationExpired, ACCEPTED_ID_TOKEN_ALGS } from './identity-providers.js';
export type { UpstreamOptions, UpstreamSecrets, UpstreamIdentity, Offer, OfferReason, AuthorizationRequest } from './identity-providers.js';
export { UpstreamError, UPSTREAM_CAUSES, causeFromDetail } from './errors.js';
export type { UpstreamFailure, UpstreamCause } from './errors.js';
export type { CircuitState } from './circuit.js';
