/** startIdpStub: assemble the context, the OpenID Provider and the routes, and listen. */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { providerText } from '@idbroker/policies';
import type { WebAuthnCredential } from '@simplewebauthn/server';
import { exportJWK, generateKeyPair } from 'jose';
import { attemptsFor } from './attempts.js';
import { loadIdentities, subjectFor } from './identities.js';
import { stubMiddleware } from './middleware.js';
import { createProvider } from './provider.js';
import type { IdpStubOptions, RecordedRequest, StubContext, StubRuntime } from './stub-context.js';
import { parseSwitches, switchesFromEnv, type Switches } from './switches.js';

export interface IdpStub {
  /** Base URL, the same as the issuer. */
  readonly url: string;
  readonly issuer: string;
  readonly port: number;
  /** The current switches; assign to change them (merged). */
  switches: Switches;
  /** Every request received, in order (for privacy tests). */
  readonly requests: RecordedRequest[];
  /** Passkeys registered at this stub, by username. */
  readonly passkeys: ReadonlyMap<string, readonly WebAuthnCredential[]>;
  close(): Promise<void>;
}

export async function startIdpStub(options: IdpStubOptions): Promise<IdpStub> {
  const { policy, levels } = options;
  const issuer = (options.issuer ?? policy.issuer).replace(/\/$/, '');
  const issuerUrl = new URL(issuer);
  const identities = options.identities ?? loadIdentities();
  const now = options.now ?? (() => new Date());
  let signingKey = options.signingKey;
  if (!signingKey) {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    signingKey = { ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: randomBytes(8).toString('base64url') };
  }
  const context: StubContext = {
    options,
    policy,
    levels,
    now,
    issuer,
    origin: issuerUrl.origin,
    rpID: issuerUrl.hostname,
    idpName: policy.display_name,
    idpNameIn: (locale) => providerText(policy, locale).name,
    resumeUrl: new URL('/journey/resume', options.broker.redirectUris[0]!).href,
    bySubject: new Map(identities.map((i) => [subjectFor(policy.id, i.username), i])),
    byUsername: new Map(identities.map((i) => [i.username, i])),
    switches: { ...switchesFromEnv(), ...options.switches },
    requests: [],
    facts: new Map(),
    interactions: new Map(),
    passkeys: new Map(),
    passkeySessions: new Map(),
    attempts: attemptsFor(options.attemptLimits, now),
    signingKey,
  };


  const provider = createProvider(context, signingKey);
  const stub: StubRuntime = Object.assign(context, { provider });
  provider.use(stubMiddleware(stub));

  const server: Server = createServer(provider.callback());
  const port = options.port ?? Number(issuerUrl.port || (issuerUrl.protocol === 'https:' ? 443 : 80));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const actualPort = address && typeof address === 'object' ? address.port : port;

  return {
    url: issuer,
    issuer,
    port: actualPort,
    get switches() {
      return { ...stub.switches };
    },
    set switches(value: Switches) {
      // fail and delayMs merge; level, scores, returnCodes and identities are replaced.
      const current = stub.switches;
      const given = value as Partial<Switches>;
      stub.switches = parseSwitches({ ...given, fail: given.fail ?? current.fail, delayMs: given.delayMs ?? current.delayMs } as Record<string, unknown>, { fail: 'none', delayMs: 0 });
    },
    requests: stub.requests,
    passkeys: stub.passkeys,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
