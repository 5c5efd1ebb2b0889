/**
 * A digital identity wallet for development, demos and tests: a web wallet holding an SD-JWT VC
 * PID for each demo identity (issued by a stub PID issuer in policy), answering OpenID4VP 1.0
 * requests (DCQL, x509_hash verifiers, direct_post.jwt), with switches that make it fail.
 */
export { startWalletStub, walletMessages, type WalletStub, type WalletStubOptions } from './server.js';
export { PidIssuer, PID_VCT, type IssuedCredential } from './issuer.js';
export { Holder, RequestRefused, type ResolvedRequest } from './holder.js';
export { walletFailModes, parseWalletSwitches, walletSwitchesFromEnv, type WalletFailMode, type WalletSwitches } from './switches.js';
