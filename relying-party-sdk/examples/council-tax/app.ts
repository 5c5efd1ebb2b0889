/**
 * An example service, "Pay your council tax" (Example Borough Council), integrated with the
 * broker through this SDK: a start page, sign-in at a level, the verified result with the
 * matched account, and on failure plain words, the references and the council's other ways.
 * Its `/matching` endpoint matches against `records.json`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import Koa from 'koa';
import type { JWK } from 'jose';
import { BrokerError, createBrokerClient, createMatchingHandler, koaBrokerLogin, type BrokerClient, type BrokerErrorCode, type VerifiedIdentity } from '../../src/index.js';
import { loadRecords, matchAccount, type CouncilAccount } from './records.js';

/** Options of {@link startExampleService}. */
export interface ExampleServiceOptions {
  /** Port to listen on. Default: PORT, or 3200. */
  port?: number;
  /** Interface to listen on. Default "localhost". */
  host?: string;
  /** The broker's issuer. Default: BROKER_ISSUER, or http://localhost:3000. */
  brokerIssuer?: string;
  /** This service's own base URL (the redirect URI is `${baseUrl}/callback`). Default http://localhost:<port>. */
  baseUrl?: string;
  /** Client id at the broker. Default "example-council-tax". */
  clientId?: string;
  /** The service's private ES256 JWK. Default: policies/dev-keys/example-service.private.jwk.json (development only). */
  privateKey?: JWK;
  /** 32+ characters, seals the sign-in cookie. Default: COOKIE_KEY, or a development value. */
  cookieKey?: string;
  /** Allow an http:// broker (local federation only). Default: true when the broker is http://localhost or 127.0.0.1. */
  allowInsecureRequests?: boolean;
  /** Level asked for. Default "Cl.Cm.P2". */
  vtr?: string | string[];
  /** Create an account when the broker asks. Default false (the policy says account_creation: false). */
  accountCreation?: boolean;
  /** The council's records. Default: records.json beside this file. */
  records?: CouncilAccount[];
}

/** A running example service. */
export interface ExampleService {
  url: string;
  close(): Promise<void>;
}

/** The council's other ways to use the service (the same as its policy's `other_ways`). */
const OTHER_WAYS: Array<{ text: string; href?: string }> = [
  { text: 'Phone the council tax team on 0300 123 4567 (Monday to Friday, 9am to 5pm). We can take payment by phone.' },
  { text: 'Visit a council office with a council tax bill. You do not need an appointment.', href: 'https://example.gov.uk/council-offices' },
  { text: 'Pay by post with the payment slip on your bill.' },
];

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const otherWays = () => `<ul>${OTHER_WAYS.map((w) => `<li>${esc(w.text)}${w.href ? ` <a href="${esc(w.href)}">Find a council office</a>` : ''}</li>`).join('')}</ul>`;

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

/** What happened, in plain words, for every error code. */
const FAILURE_TEXT: Record<BrokerErrorCode, string> = {
  cancelled: 'You chose not to share your details, so we have not received anything.',
  no_match: 'Your identity was checked, but we could not find your council tax account from those details.',
  level_not_met: 'Your identity could not be checked thoroughly enough to show your account online.',
  provider_failed: 'The company or organisation checking your identity had a problem and could not finish.',
  fraud_flagged: 'We could not confirm your identity online this time.',
  timed_out: 'Signing in took too long, so it was stopped to keep your details safe.',
  matching_failed: 'Our system could not look up your account just now.',
  no_provider: 'You told us you cannot use any of the ways to prove your identity online.',
  invalid_response: 'Something went wrong while signing you in. Nothing was shared.',
  state_mismatch: 'Your sign-in could not be finished in this browser, or it took too long. Please start again.',
  server_error: 'The sign-in service is not working at the moment. Please try again later.',
};

function successPage(identity: VerifiedIdentity, account: CouncilAccount | undefined): string {
  const a = identity.attributes;
  return page(
    'Your council tax account',
    `<h1>Your council tax account</h1>
<div class="panel"><p>You have proved your identity${identity.match ? ' and we found your account' : ''}.</p>
${identity.match ? `<p>Account reference <span class="ref">${esc(identity.match.accountRef)}</span></p>` : '<p>We could not link you to a council tax account. Contact us using one of the ways below.</p>'}</div>
<h2>Your details</h2>
<dl><dt>Name</dt><dd>${esc(a.given_name)} ${esc(a.family_name)}</dd><dt>Date of birth</dt><dd>${esc(a.birthdate)}</dd>
${account ? `<dt>Council tax band</dt><dd>${esc(account.band)}</dd><dt>Balance</dt><dd>£${(account.balance_pence / 100).toFixed(2)}</dd>` : ''}</dl>
<p><a href="/">Sign out</a></p>`,
  );
}

function failurePage(error: BrokerError): string {
  return page(
    'We could not show your account',
    `<h1>We could not show your account</h1>
<p>${esc(FAILURE_TEXT[error.code])}</p>
${error.caseReference ? `<div class="panel"><h2>Your support case</h2><p>Your support case reference is <span class="ref">${esc(error.caseReference)}</span>.</p><p>Keep it: you can use it to check your case. You do not need to contact us or the identity provider separately.</p></div>` : ''}
${error.journeyReference ? `<p>If you contact us, quote reference <span class="ref">${esc(error.journeyReference)}</span>.</p>` : ''}
<h2>Other ways to pay your council tax</h2>
${otherWays()}
<p><a href="/">Start again</a></p>`,
  );
}

/** What a sign-in ended with, as kept for its result page. */
type Outcome = { identity: VerifiedIdentity; account: CouncilAccount | undefined } | { error: BrokerError };

/** The example's sessions: in memory, one per browser (an HttpOnly cookie), each outcome kept 30 minutes. */
class Sessions {
  static readonly COOKIE = 'council_session';
  static readonly TTL_MS = 30 * 60 * 1000;
  private readonly byId = new Map<string, { expires: number; outcomes: Map<string, Outcome> }>();
  constructor(private readonly secure: boolean) {}

  private session(ctx: Koa.Context, create: boolean) {
    const now = Date.now();
    for (const [id, s] of this.byId) if (s.expires < now) this.byId.delete(id);
    const sid = ctx.cookies.get(Sessions.COOKIE);
    let session = sid ? this.byId.get(sid) : undefined;
    if (!session && create) {
      const id = randomBytes(24).toString('base64url');
      session = { expires: 0, outcomes: new Map() };
      this.byId.set(id, session);
      ctx.cookies.set(Sessions.COOKIE, id, { httpOnly: true, sameSite: 'lax', secure: this.secure, path: '/', overwrite: true });
    }
    if (session) session.expires = now + Sessions.TTL_MS;
    return session;
  }

  /** Keep an outcome; returns its id (for /result/<id>). */
  keep(ctx: Koa.Context, outcome: Outcome): string {
    const session = this.session(ctx, true)!;
    const id = randomBytes(12).toString('base64url');
    session.outcomes.set(id, outcome);
    while (session.outcomes.size > 10) session.outcomes.delete(session.outcomes.keys().next().value!);
    return id;
  }

  find(ctx: Koa.Context, id: string): Outcome | undefined {
    return this.session(ctx, false)?.outcomes.get(id);
  }
}

const isLocalHttp = (u: string) => /^http:\/\/(([a-z0-9-]+\.)*localhost|127\.0\.0\.1)(:\d+)?(\/|$)/i.test(u);

/** Start the example service. Resolves when it listens; the broker need not be up yet (discovery happens at the first sign-in). */
export async function startExampleService(options: ExampleServiceOptions = {}): Promise<ExampleService> {
  const port = options.port ?? Number(process.env.PORT ?? 3200);
  const host = options.host ?? 'localhost';
  const brokerIssuer = options.brokerIssuer ?? process.env.BROKER_ISSUER ?? 'http://localhost:3000';
  const baseUrl = (options.baseUrl ?? `http://localhost:${port}`).replace(/\/$/, '');
  const clientId = options.clientId ?? 'example-council-tax';
  const privateKey =
    options.privateKey ?? (JSON.parse(readFileSync(fileURLToPath(new URL('../../../policies/dev-keys/example-service.private.jwk.json', import.meta.url)), 'utf8')) as JWK);
  const cookieKey = options.cookieKey ?? process.env.COOKIE_KEY ?? 'example-service-development-cookie-key-0001';
  const allowInsecureRequests = options.allowInsecureRequests ?? isLocalHttp(brokerIssuer);
  const redirectUri = `${baseUrl}/callback`;
  const records = options.records ?? loadRecords();

  let client: Promise<BrokerClient> | undefined;
  const brokerClient = () => {
    client ??= createBrokerClient({ issuer: brokerIssuer, clientId, redirectUri, privateKey, allowInsecureRequests }).catch((e: unknown) => {
      client = undefined;
      throw e;
    });
    return client;
  };
  const matching = createMatchingHandler({
    brokerIssuer,
    clientId,
    privateKey,
    match: (who) => matchAccount(records, who),
    ...(options.accountCreation
      ? { createAccount: async () => ({ accountRef: `CT-${String(Math.floor(200_000 + Math.random() * 99_999))}` }) }
      : {}),
  });

  const app = new Koa();
  app.use(async (ctx, next) => {
    ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Content-Type-Options', 'nosniff');
    try {
      await next();
    } catch (e) {
      console.error(`example service: ${(e as Error).name} on ${ctx.method} ${ctx.path}`);
      ctx.status = 503;
      ctx.type = 'html';
      ctx.body = failurePage(new BrokerError('server_error', 'the service could not reach the broker'));
    }
  });
  // Post/redirect/get: the callback keeps the outcome in this browser's session and sends the
  // browser to /result/<id>, a stable page: refresh, Back and a second tab are all harmless.
  const sessions = new Sessions(baseUrl.startsWith('https://'));
  app.use(
    koaBrokerLogin<Koa.Context>(brokerClient, {
      cookieKey,
      vtr: options.vtr ?? 'Cl.Cm.P2',
      attributes: ['given_name', 'family_name', 'birthdate', 'address'],
      onSuccess(ctx, identity) {
        const account = identity.match ? records.find((r) => r.account_ref === identity.match!.accountRef) : undefined;
        return `/result/${sessions.keep(ctx, { identity, account })}`;
      },
      onError(ctx, error) {
        return `/result/${sessions.keep(ctx, { error })}`;
      },
    }),
  );
  app.use(async (ctx) => {
    if (ctx.path === '/matching') return matching.koa(ctx);
    const result = /^\/result\/([\w-]{1,64})$/.exec(ctx.path);
    if (result && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
      const outcome = sessions.find(ctx, result[1]!);
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'html';
      if (!outcome) {
        ctx.status = 404;
        ctx.body = page('This page has expired', '<h1>This page has expired</h1><p>For your security, what you saw here is kept for 30 minutes and only in the browser you signed in with.</p><p><a href="/">Start again</a></p>');
        return;
      }
      ctx.body = 'error' in outcome ? failurePage(outcome.error) : successPage(outcome.identity, outcome.account);
      return;
    }
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = 405;
      return;
    }
    if (ctx.path === '/style.css') {
      ctx.type = 'text/css';
      ctx.body = CSS;
      return;
    }
    if (ctx.path !== '/') {
      ctx.status = 404;
      ctx.type = 'html';
      ctx.body = page('Page not found', '<h1>Page not found</h1><p><a href="/">Go to the start page</a></p>');
      return;
    }
    ctx.type = 'html';
    ctx.body = page(
      'Pay your council tax',
      `<h1>Pay your council tax</h1>
<p>Use this service to see your council tax account, your band and what you owe, and to pay.</p>
<p>You will need to prove your identity. You can choose who checks it: a public service, a company or a charity.</p>
<p><a class="button" href="/login" role="button" draggable="false">Start now</a></p>
<h2>Other ways to pay</h2>
${otherWays()}`,
    );
  });

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
