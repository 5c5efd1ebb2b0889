/**
 * @idbroker/relying-party-sdk: what a service installs to use the identity assurance broker.
 * The matching wire format is also at the subpath `@idbroker/relying-party-sdk/protocol`.
 */
export { createBrokerClient } from './client.js';
export type { BrokerClient, BrokerClientOptions, LoginTransaction, StartLoginOptions, VerifiedIdentity } from './client.js';
export { BrokerError, type BrokerErrorCode } from './errors.js';
export { createMatchingHandler, memoryReplayCache, MatchingRequestError } from './matching-handler.js';
export type { MatchDecision, MatchingHandler, MatchingHandlerOptions, MatchingIdentity, ReplayCache } from './matching-handler.js';
export type { Address, VerifiedAttributes } from './attributes.js';
export { koaBrokerLogin, nodeBrokerLogin, type LoginRouteOptions } from './frameworks.js';
export { sealTransaction, unsealTransaction, TRANSACTION_COOKIE } from './transaction-cookie.js';
export { meetsAny } from './vectors.js';
