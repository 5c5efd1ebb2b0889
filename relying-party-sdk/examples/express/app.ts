/**
 * A whole service on Express (5), with the SDK's Node handlers: `/login` sends the person to the
 * broker, `/callback` checks the answer and redirects (303) to the page that shows it, so refresh
 * and Back are harmless. Its "session" is a Map in memory: use your own session store.
 *
 *   PORT=4000 BASE_URL=http://my-service.localhost:4000 BROKER_ISSUER=http://localhost:3000 \
 *     CLIENT_ID=my-service PRIVATE_KEY_FILE=my-service.private.jwk.json npx tsx relying-party-sdk/examples/express/app.ts
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import express from 'express';
import type { JWK } from 'jose';
import { createBrokerClient, nodeCallbackHandler, nodeLoginHandler } from '@idbroker/relying-party-sdk';

export interface ExpressExampleOptions {
  port: number;
  host?: string;
  /** Where people reach this service: the redirect URI is `${baseUrl}/callback`. */
  baseUrl: string;
  brokerIssuer: string;
  clientId: string;
  privateKey: JWK;
  /** At least 32 characters: seals the sign-in cookies. */
  cookieKey?: string;
  /** http:// broker (the local federation, or the SDK's fake broker in tests). */
  allowInsecureRequests?: boolean;
}

export interface ExpressExample {
  url: string;
  close(): Promise<void>;
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export async function startExpressExample(options: ExpressExampleOptions): Promise<ExpressExample> {
  const client = await createBrokerClient({
    issuer: options.brokerIssuer,
    clientId: options.clientId,
    redirectUri: `${options.baseUrl}/callback`,
    privateKey: options.privateKey,
    ...(options.allowInsecureRequests ? { allowInsecureRequests: true } : {}),
  });
  const cookieKey = options.cookieKey ?? 'express-example-cookie-key-replace-me-0123456789';
  const results = new Map<string, string>(); // stands in for your session store
  const show = (text: string) => {
    const id = randomUUID();
    results.set(id, text);
    return `/result/${id}`;
  };

  const app = express();
  app.get('/', (_req, res) => {
    res.type('html').send('<h1>My service</h1><p><a href="/login">Prove your identity</a></p>');
  });
  app.get('/login', nodeLoginHandler(client, { cookieKey, vtr: 'Cl.Cm.P2', attributes: ['given_name', 'family_name'] }));
  app.get(
    '/callback',
    nodeCallbackHandler(client, {
      cookieKey,
      onSuccess: (_req, _res, who) =>
        show(
          `Hello ${who.attributes.given_name} ${who.attributes.family_name} (${who.level}). ` +
            (who.account.status === 'none' ? 'No account from the broker.' : `Your account: ${who.account.reference}.`),
        ),
      onError: (_req, _res, error) => show(`Sorry, that did not work (${error.code}). Reference: ${error.caseReference ?? error.journeyReference ?? 'none'}.`),
    }),
  );
  app.get('/result/:id', (req, res) => {
    const text = results.get(req.params.id);
    res.status(text ? 200 : 404).type('html').send(`<p>${escape(text ?? 'This page has expired.')}</p>`);
  });

  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(options.port, options.host ?? '127.0.0.1', (error?: Error) => (error ? reject(error) : resolve(s)));
  });
  return {
    url: options.baseUrl,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const env = process.env;
  const port = Number(env.PORT ?? 4000);
  const service = await startExpressExample({
    port,
    baseUrl: env.BASE_URL ?? `http://my-service.localhost:${port}`,
    brokerIssuer: env.BROKER_ISSUER ?? 'http://localhost:3000',
    clientId: env.CLIENT_ID ?? 'my-service',
    privateKey: JSON.parse(readFileSync(env.PRIVATE_KEY_FILE ?? `${env.CLIENT_ID ?? 'my-service'}.private.jwk.json`, 'utf8')) as JWK,
    ...(env.COOKIE_KEY ? { cookieKey: env.COOKIE_KEY } : {}),
    allowInsecureRequests: /^http:\/\/(localhost|127\.0\.0\.1)[:/]/.test(env.BROKER_ISSUER ?? 'http://localhost:3000'),
  });
  console.log(`listening on ${service.url}`);
}
