/** Small matching endpoints for tests, built on the SDK's handler (or deliberately broken). */
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { defaultPoliciesDir } from '@idbroker/policies';
import { createMatchingHandler, type MatchingHandlerOptions } from '@idbroker/relying-party-sdk';
import { freePort } from './ports.js';

export const serviceKey = JSON.parse(readFileSync(resolve(defaultPoliciesDir, 'dev-keys/example-service.private.jwk.json'), 'utf8')) as JWK;

export interface TestEndpoint {
  url: string;
  port: number;
  calls: number;
  close(): Promise<void>;
}

/** Listen on `port` with a Node handler. */
export async function listen(port: number, handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void | Promise<void>): Promise<TestEndpoint> {
  const endpoint: TestEndpoint = { url: `http://127.0.0.1:${port}/matching`, port, calls: 0, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    endpoint.calls++;
    void handler(req, res);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  endpoint.close = () => new Promise<void>((r) => (server.close(() => r()), server.closeAllConnections()));
  return endpoint;
}

/** A matching endpoint using the SDK handler with the example service's key. */
export async function sdkMatchingEndpoint(port: number, options: Omit<MatchingHandlerOptions, 'clientId' | 'privateKey'> & { privateKey?: JWK }): Promise<TestEndpoint> {
  const handler = createMatchingHandler({ clientId: 'example-council-tax', privateKey: serviceKey, ...options });
  return listen(port, handler.node);
}

/** A key the broker does not know, with the service's kid (a forged answer). */
export async function strangerKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: serviceKey.kid, alg: 'ES256' };
}

export { freePort };
