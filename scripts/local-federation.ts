/**
 * What `npm start` needs beyond the parts themselves: a cookie host of its own for every part,
 * and the local federation's policies following the ports (and host names) it really runs on.
 *
 * Browsers ignore ports for cookies, so parts that share the host `localhost` receive each
 * other's cookies. The local federation therefore gives each part its own name under
 * `localhost` (RFC 6761: every `*.localhost` name is loopback): the broker stays at
 * `http://localhost:3000`, the IdP stubs are `http://<id>.localhost:<port>`, the example service
 * `http://council-tax.localhost:3200`. Chromium and Firefox resolve these names themselves;
 * Node's resolver (getaddrinfo) usually does not, so {@link resolveLocalhostNames} teaches this
 * process to.
 */
import dns from 'node:dns';
import type { Policies, RelyingPartyPolicy } from '@idbroker/policies';

/** The example service's client_id in the shipped policies. */
export const EXAMPLE_SERVICE_CLIENT_ID = 'example-council-tax';
/** The example service's host name in the local federation. */
export const EXAMPLE_SERVICE_HOST = 'council-tax.localhost';
/** An IdP stub's host name in the local federation. */
export const idpHost = (id: string) => `${id}.localhost`;

const isLocalhostName = (hostname: unknown): hostname is string => typeof hostname === 'string' && /^[a-z0-9.-]+\.localhost\.?$/i.test(hostname);

let installed = false;
/**
 * Resolve every `*.localhost` name to 127.0.0.1 in this process (dns.lookup and
 * dns.promises.lookup, which `fetch`, `http` and `net` use), as browsers do. Other names are
 * looked up as before. Idempotent.
 */
export function resolveLocalhostNames(): void {
  if (installed) return;
  installed = true;
  const original = dns.lookup as unknown as (...args: unknown[]) => unknown;
  const patched = function lookup(hostname: string, options: unknown, callback?: unknown) {
    if (isLocalhostName(hostname)) {
      const cb = (typeof options === 'function' ? options : callback) as (err: NodeJS.ErrnoException | null, address: unknown, family?: number) => void;
      const opts = (typeof options === 'object' && options !== null ? options : typeof options === 'number' ? { family: options } : {}) as dns.LookupOptions;
      if (opts.family === 6) return original.call(dns, '::1', opts, cb);
      return original.call(dns, '127.0.0.1', { ...opts, family: 4 }, cb);
    }
    return callback === undefined ? original.call(dns, hostname, options) : original.call(dns, hostname, options, callback);
  };
  dns.lookup = patched as typeof dns.lookup;
  const originalPromise = dns.promises.lookup as unknown as (...args: unknown[]) => Promise<unknown>;
  dns.promises.lookup = ((hostname: string, options?: dns.LookupOptions) =>
    isLocalhostName(hostname)
      ? originalPromise.call(dns.promises, options?.family === 6 ? '::1' : '127.0.0.1', { ...options, ...(options?.family === 6 ? {} : { family: 4 }) })
      : originalPromise.call(dns.promises, hostname, options)) as unknown as typeof dns.promises.lookup;
}

/** Where the parts of the local federation run. */
export interface LocalFederationLayout {
  brokerIssuer: string;
  /** Each IdP's issuer, by policy id. */
  idpIssuers: Record<string, string>;
  /** The example service's origin, e.g. http://council-tax.localhost:3200. */
  serviceOrigin: string;
  /** The example service's origin in the policy (what `serviceOrigin` replaces). */
  policyServiceOrigin: string | undefined;
}

/** Port variables of each shipped IdP stub. */
export const IDP_PORT_VARIABLES: Record<string, string> = {
  'civic-id': 'CIVIC_ID_PORT',
  'swift-verify': 'SWIFT_VERIFY_PORT',
  'community-vouch': 'COMMUNITY_VOUCH_PORT',
};

const portOf = (url: string) => {
  const u = new URL(url);
  return Number(u.port || (u.protocol === 'https:' ? 443 : 80));
};
const envPort = (env: Record<string, string | undefined>, name: string): number | undefined => {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${name} must be a port number (1-65535), not ${JSON.stringify(v)}`);
  return n;
};

/**
 * Work out where every part runs from the environment (BROKER_PORT, BROKER_ISSUER, SERVICE_PORT,
 * CIVIC_ID_PORT, SWIFT_VERIFY_PORT, COMMUNITY_VOUCH_PORT, and `<ID>_PORT` for any other IdP in
 * the policies) and the policies' own ports when a variable is unset.
 */
export function localFederationLayout(policies: Policies, env: Record<string, string | undefined>): LocalFederationLayout & { brokerPort: number; servicePort: number } {
  const brokerPort = envPort(env, 'BROKER_PORT') ?? 3000;
  const brokerIssuer = (env.BROKER_ISSUER ?? `http://localhost:${brokerPort}`).replace(/\/$/, '');
  const idpIssuers: Record<string, string> = {};
  for (const idp of policies.identityProviders) {
    const variable = IDP_PORT_VARIABLES[idp.id] ?? `${idp.id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_PORT`;
    idpIssuers[idp.id] = `http://${idpHost(idp.id)}:${envPort(env, variable) ?? portOf(idp.issuer)}`;
  }
  const example = policies.relyingParty(EXAMPLE_SERVICE_CLIENT_ID);
  const policyServiceOrigin = example ? new URL(example.redirect_uris[0]!).origin : undefined;
  const servicePort = envPort(env, 'SERVICE_PORT') ?? (policyServiceOrigin ? portOf(policyServiceOrigin) : 3200);
  return { brokerPort, brokerIssuer, idpIssuers, serviceOrigin: `http://${EXAMPLE_SERVICE_HOST}:${servicePort}`, policyServiceOrigin, servicePort };
}

/**
 * The policies as the local federation runs them: each IdP's issuer is where its stub runs, and
 * every URL of a service policy on the example service's policy origin (redirect URIs, matching
 * URL, JWKS URI) moves to where the example service runs. Nothing else changes; the result is a
 * {@link Policies} like the one loaded.
 */
export function localFederationPolicies(policies: Policies, layout: LocalFederationLayout): Policies {
  const issuerOf = new Map(policies.identityProviders.map((i) => [i.id, layout.idpIssuers[i.id] ?? i.issuer]));
  const move = (url: string) => {
    if (!layout.policyServiceOrigin) return url;
    const u = new URL(url);
    return u.origin === layout.policyServiceOrigin ? `${layout.serviceOrigin}${u.pathname}${u.search}` : url;
  };
  const identityProviders = policies.identityProviders.map((i) => ({ ...i, issuer: issuerOf.get(i.id)! }));
  const relyingParties: RelyingPartyPolicy[] = policies.relyingParties.map((rp) => ({
    ...rp,
    redirect_uris: rp.redirect_uris.map(move),
    ...(rp.matching ? { matching: { ...rp.matching, url: move(rp.matching.url) } } : {}),
    ...(rp.jwks_uri ? { jwks_uri: move(rp.jwks_uri) } : {}),
  }));
  const idpById = new Map(identityProviders.map((i) => [i.id, i]));
  const rpById = new Map(relyingParties.map((r) => [r.client_id, r]));
  // Spread keeps every other field and helper of the loaded policies (closures over its folder).
  return { ...policies, identityProviders, relyingParties, identityProvider: (id) => idpById.get(id), relyingParty: (clientId) => rpById.get(clientId) };
}
