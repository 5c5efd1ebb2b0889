/** A TCP port that was free a moment ago on 127.0.0.1 (one implementation, in the IdP stub's test kit). */
export { freeLocalPort as freePort } from '@idbroker/idp-stub/testing';
