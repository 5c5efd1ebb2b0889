/**
 * An example service, "Pay your council tax" (Example Borough Council), integrated with the
 * broker through this SDK: a start page, sign-in at a level, the verified result with the
 * matched account, and on failure the case reference and the council's other ways.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import Koa from 'koa';
import Router from '@koa/router';
import type { JWK } from 'jose';
import { createBrokerClient, createMatchingHandler, koaBrokerLogin, type BrokerClient, type BrokerError, type VerifiedIdentity } from '../../src/index.js';
import { loadRecords, matchAccount } from './records.js';

export interface ExampleServiceOptions {
  /** Default: PORT or 3200. */
  port?: number;
  host?: string;
  /** Default: BROKER_ISSUER or http://localhost:3000. */
  brokerIssuer?: string;
  /** This service's own base URL. Default http://localhost:<port>. */
  baseUrl?: string;
  clientId?: string;
  /** Default: policies/dev-keys/example-service.private.jwk.json (development only). */
  privateKey?: JWK;
  /** 32+ characters, seals the sign-in cookie. Default: a development value. */
  cookieKey?: string;
  /** http:// broker (local federation only). Default: true when the broker URL is http://localhost. */
  allowInsecureRequests?: boolean;
  /** Level asked for. Default Cl.Cm.P2. */
  vtr?: string;
}

const OTHER_WAYS = [
  'Phone the council tax team on 0300 123 4567 (Monday to Friday, 9am to 5pm). We can take payment by phone.',
  'Visit a council office with a council tax bill. You do not need an appointment.',
  'Pay by post with the payment slip on your bill.',
];

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)} - Example Borough Council</title>
<link rel="stylesheet" href="/style.css"></head>
<body><a class="skip" href="#main">Skip to main content</a>
<header><p class="brand">Example Borough Council</p></header>
<main id="main">${body}</main>
<footer><p>This is an example service for the identity assurance broker. It holds demo records only.</p></footer>
</body></html>`;
}

const CSS = `body{font-family:Arial,sans-serif;margin:0;color:#0b0c0c;line-height:1.5}
header{background:#0b0c0c;color:#fff;padding:10px 20px}.brand{font-weight:bold;margin:0}
main{max-width:640px;padding:20px}a{color:#1d70b8}a:focus,button:focus{outline:3px solid #fd0;background:#fd0;color:#0b0c0c}
.button{display:inline-block;background:#00703c;color:#fff;border:0;padding:10px 16px;font-size:1.1em;text-decoration:none;box-shadow:0 2px 0 #002d18;cursor:pointer}
.panel{border:5px solid #00703c;padding:15px;margin:20px 0}.ref{font-weight:bold;font-size:1.2em;letter-spacing:.05em}
dl{display:grid;grid-template-columns:max-content 1fr;gap:6px 16px}dt{font-weight:bold}
.skip{position:absolute;left:-9999px}.skip:focus{left:10px;top:10px}footer{padding:20px;border-top:1px solid #b1b4b6;font-size:.9em}`;

const FAILURE_TEXT: Record<string, string> = {
  cancelled: 'You chose not to share your details, so we have not received anything.',
  no_match: 'Your identity was checked, but we could not find your council tax account from those details.',
  level_not_met: 'Your identity could not be checked thoroughly enough to show your account online.',
  provider_failed: 'The identity provider had a problem and could not complete the check.',
  fraud_flagged: 'We could not confirm your identity online this time.',
  timed_out: 'The sign-in took too long and timed out.',
  matching_failed: 'Our system could not look up your account just now.',
  no_provider: 'You told us you cannot use any of the identity providers.',
};

function successPage(identity: VerifiedIdentity, account: ReturnType<typeof loadRecords>[number] | undefined): string {
  const a = identity.attributes;
  return page(
    'Your council tax account',
    `<h1>Your council tax account</h1>
<div class="panel"><p>You have proved your identity${identity.match ? ' and we found your account' : ''}.</p>
${identity.match ? `<p>Account reference <span class="ref">${esc(identity.match.accountRef)}</span></p>` : ''}</div>
<h2>Your details</h2>
<dl><dt>Name</dt><dd>${esc(a.given_name)} ${esc(a.family_name)}</dd><dt>Date of birth</dt><dd>${esc(a.birthdate)}</dd>
${account ? `<dt>Council tax band</dt><dd>${esc(account.band)}</dd><dt>Balance</dt><dd>£${(account.balance_pence / 100).toFixed(2)}</dd>` : ''}
<dt>Level of assurance</dt><dd>${esc(identity.level)}</dd></dl>
<p><a href="/">Sign out</a></p>`,
  );
}

function failurePage(error: BrokerError): string {
  return page(
    'We could not show your account',
    `<h1>We could not show your account</h1>
<p>${esc(FAILURE_TEXT[error.code] ?? 'Something went wrong while signing you in.')}</p>
${error.caseReference ? `<div class="panel"><p>Your support case reference is <span class="ref">${esc(error.caseReference)}</span>.</p><p>You can check your case at any time. You do not need to contact the identity provider or us separately.</p></div>` : ''}
${error.journeyReference ? `<p>If you call us, quote reference <span class="ref">${esc(error.journeyReference)}</span>.</p>` : ''}
<h2>Other ways to pay your council tax</h2>
<ul>${OTHER_WAYS.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>
<p><a href="/">Try again</a></p>`,
  );
}

export async function startExampleService(options: ExampleServiceOptions = {}): Promise<{ url: string; close(): Promise<void> }> {
  const port = options.port ?? Number(process.env.PORT ?? 3200);
  const host = options.host ?? 'localhost';
  const brokerIssuer = options.brokerIssuer ?? process.env.BROKER_ISSUER ?? 'http://localhost:3000';
  const baseUrl = options.baseUrl ?? `http://localhost:${port}`;
  const clientId = options.clientId ?? 'example-council-tax';
  const privateKey =
    options.privateKey ?? (JSON.parse(readFileSync(fileURLToPath(new URL('../../../policies/dev-keys/example-service.private.jwk.json', import.meta.url)), 'utf8')) as JWK);
  const cookieKey = options.cookieKey ?? 'example-service-development-cookie-key-0001';
  const allowInsecureRequests = options.allowInsecureRequests ?? brokerIssuer.startsWith('http://');
  const redirectUri = `${baseUrl}/callback`;
  const records = loadRecords();

  let client: Promise<BrokerClient> | undefined;
  const brokerClient = () => {
    client ??= createBrokerClient({ issuer: brokerIssuer, clientId, redirectUri, privateKey, allowInsecureRequests }).catch((e) => {
      client = undefined;
      throw e;
    });
    return client;
  };
  const loginOptions = { vtr: options.vtr ?? 'Cl.Cm.P2', attributes: ['given_name', 'family_name', 'birthdate', 'address'], cookieKey, redirectUri };
  const matching = createMatchingHandler({ brokerIssuer, clientId, privateKey, match: async (who) => matchAccount(records, who) });

  const app = new Koa();
  app.use(async (ctx, next) => {
    ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    ctx.set('Referrer-Policy', 'no-referrer');
    await next();
  });
  const router = new Router();
  router.get('/style.css', (ctx) => {
    ctx.type = 'text/css';
    ctx.body = CSS;
  });
  router.get('/', (ctx) => {
    ctx.type = 'html';
    ctx.body = page(
      'Pay your council tax',
      `<h1>Pay your council tax</h1>
<p>Use this service to see your council tax account, your band and what you owe, and to pay.</p>
<p>You will need to prove your identity. You can choose who checks it: a public service, a company or a charity.</p>
<p><a class="button" href="/login" role="button" draggable="false">Start now</a></p>
<h2>Other ways to pay</h2><ul>${OTHER_WAYS.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>`,
    );
  });
  router.get('/login', async (ctx) => {
    const login = koaBrokerLogin(await brokerClient(), loginOptions);
    await login.login(ctx as never);
  });
  router.get('/callback', async (ctx) => {
    const login = koaBrokerLogin(await brokerClient(), loginOptions);
    await login.callback(
      (c, identity) => {
        const account = identity.match ? records.find((r) => r.account_ref === identity.match!.accountRef) : undefined;
        (c as unknown as Koa.Context).type = 'html';
        (c as unknown as Koa.Context).body = successPage(identity, account);
      },
      (c, error) => {
        (c as unknown as Koa.Context).type = 'html';
        (c as unknown as Koa.Context).body = failurePage(error);
      },
    )(ctx as never);
  });
  router.post('/matching', (ctx) => matching.koa(ctx));
  app.use(router.routes());

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(port, host, () => resolve(s));
    s.once('error', reject);
  });
  return {
    url: baseUrl,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
