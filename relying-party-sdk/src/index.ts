/**
 * `@idbroker/relying-party-sdk`: what a service installs to use the identity assurance broker.
 *
 * - {@link createBrokerClient}: start a sign-in, handle the callback into a {@link VerifiedIdentity} or a {@link BrokerError}.
 * - {@link koaBrokerLogin}, {@link nodeLoginHandler}, {@link nodeCallbackHandler}: the sign-in routes, with a sealed cookie.
 * - {@link createMatchingHandler}: the matching endpoint the broker calls.
 *
 * The matching wire format is at the subpath `@idbroker/relying-party-sdk/protocol`.
 * @packageDocumentation
 */
export { createBrokerClient, TRANSACTION_LIFETIME_MS } from './client.js';
export type { AccountLink, BrokerClient, BrokerClientOptions, LoginTransaction, OpenCaseOptions, OpenedCase, StartLoginOptions, VerifiedIdentity } from './client.js';
export { BrokerError, BROKER_ERROR_CODES, isBrokerError, errorFromRedirect, type BrokerErrorCode, type BrokerErrorDetails } from './errors.js';
export { createMatchingHandler, memoryReplayCache, MatchingRequestError } from './matching-handler.js';
export type { KoaMatchingContext, MatchDecision, MatchingHandler, MatchingHandlerOptions, MatchingIdentity, MemoryReplayCacheOptions, ReplayCache } from './matching-handler.js';
export type { Address, VerifiedAttributes } from './attributes.js';
export { koaBrokerLogin, nodeLoginHandler, nodeCallbackHandler } from './frameworks.js';
export type { BrokerClientSource, CallbackResult, KoaBrokerLoginOptions, KoaLoginContext, LoginCookieOptions, NodeCallbackOptions, NodeLoginOptions } from './frameworks.js';
export { sealTransaction, unsealTransaction, transactionCookieName, TRANSACTION_COOKIE, TRANSACTION_MAX_AGE_MS, MAX_PARALLEL_LOGINS, FINISHED_MARKER_MAX_AGE_MS } from './transaction-cookie.js';
export { meetsAny, parseVector, type ParsedVector } from './vectors.js';
