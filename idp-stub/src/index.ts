/**
 * A certifiable identity provider for development, demos and tests: an OpenID Provider
 * (oidc-provider) with the demo identities, password + one-time code + passkey sign-in,
 * levels as vectors (acr/vot), OIDC for Identity Assurance `verified_claims`, and switches
 * that make it fail on purpose.
 *
 * The parts: server.ts (assembly), provider.ts (oidc-provider configuration), sign-in.ts
 * (the interaction), passkey-registration.ts (/passkeys), admin.ts (/admin), middleware.ts
 * (recording, switches, health, static files, CSP), assurance.ts (levels and claims).
 */
export { startIdpStub, type IdpStub } from './server.js';
export type { IdpStubOptions, RecordedRequest } from './stub-context.js';
export type { DemoIdentity, PostalAddress } from './identities.js';
export { loadIdentities, subjectFor, defaultIdentitiesFile } from './identities.js';
export type { Switches, FailMode, Behaviour } from './switches.js';
export { switchesFromEnv, failModes } from './switches.js';
export { hashPassword, verifyPassword } from './passwords.js';
