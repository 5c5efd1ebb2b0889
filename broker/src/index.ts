/** The broker's one public face. */
export { createBroker, type Broker, type BrokerDependencies } from './app.js';
export { configFromEnv, parseConfig, ConfigError, type BrokerConfig, type BrokerConfigInput } from './config/config.js';
export type { PolicyHolder, ReloadResult, PolicyChanges } from './config/policy-holder.js';
export { pairwiseSubject, internalSubject } from './oidc/pairwise.js';
export { normaliseReference, newReference } from './journey/reference.js';
export type { JourneyState, FailureReason } from './journey/journey-state.js';
