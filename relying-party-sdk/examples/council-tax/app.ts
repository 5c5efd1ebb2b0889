/**
 * An example service, "Pay your council tax" (Example Borough Council), integrated with the
 * broker through this SDK, in English and Welsh (a language toggle; the language goes to the
 * broker as ui_locales). Two tasks show the federation's range: "View your bill" asks for low
 * identity confidence (Cl.P1: reachable through Community Vouch, without documents), "See your
 * account and pay" for medium (Cl.Cm.P2). Both match the person to the council's records through
 * its `/matching` endpoint (records.json), so both ask for the same attributes. On failure: plain
 * words, the references and the council's other ways.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import Koa from 'koa';
import type { JWK } from 'jose';
import { BrokerError, createBrokerClient, createMatchingHandler, koaBrokerLogin, meetsAny, type BrokerClient, type VerifiedIdentity } from '../../src/index.js';
import { dateInWords, esc, money, TEXT, type Locale, type Strings } from './text.js';
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
  /** Level asked for to see the account and pay. Default "Cl.Cm.P2". */
  vtr?: string | string[];
  /** Level asked for to view the bill. Default "Cl.P1" (Community Vouch is certified for Cl and P1 only). */
  billVtr?: string | string[];
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

const CSS = `body{font-family:Arial,sans-serif;margin:0;color:#0b0c0c;line-height:1.5}
header{background:#0b0c0c;color:#fff;padding:10px 20px}.brand{font-weight:bold;margin:0}
main{max-width:640px;padding:20px}a{color:#1d70b8}a:focus,button:focus{outline:3px solid #fd0;background:#fd0;color:#0b0c0c}
.button{display:inline-block;background:#00703c;color:#fff;border:0;padding:10px 16px;font-size:1.1em;text-decoration:none;box-shadow:0 2px 0 #002d18;cursor:pointer}
.panel{border:5px solid #00703c;padding:15px;margin:20px 0}.ref{font-weight:bold;font-size:1.2em;letter-spacing:.05em}
dl{display:grid;grid-template-columns:max-content 1fr;gap:6px 16px}dt{font-weight:bold}
.language{max-width:640px;padding:10px 20px 0}.language ul{list-style:none;margin:0;padding:0;display:flex;gap:16px;justify-content:flex-end}.language [aria-current]{font-weight:bold}
.task{border-top:1px solid #b1b4b6;padding-top:10px;margin-top:20px}
.skip{position:absolute;left:-9999px}.skip:focus{left:10px;top:10px}footer{padding:20px;border-top:1px solid #b1b4b6;font-size:.9em}`;

/** The two tasks: viewing the bill needs low identity confidence, the account and paying medium. */
type Task = 'bill' | 'account';

const LANGUAGE_NAMES: Record<Locale, string> = { en: 'English', cy: 'Cymraeg' };

function languageToggle(t: Strings, locale: Locale, path: string): string {
  const items = (['en', 'cy'] as const).map((l) =>
    l === locale
      ? `<li><span aria-current="true" lang="${l}">${LANGUAGE_NAMES[l]}</span></li>`
      : `<li><a href="${esc(`${path}?lang=${l}`)}" lang="${l}" hreflang="${l}">${LANGUAGE_NAMES[l]}</a></li>`,
  );
  return `<nav class="language" aria-label="${esc(t.languageNav)}"><ul>${items.join('')}</ul></nav>`;
}

function page(locale: Locale, path: string, title: string, body: string): string {
  const t = TEXT[locale];
  return `<!doctype html>
<html lang="${locale}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)} - ${esc(t.council)}</title>
<link rel="stylesheet" href="/style.css"></head>
<body><a class="skip" href="#main">${esc(t.skipLink)}</a>
<header><p class="brand">${esc(t.council)}</p></header>
${languageToggle(t, locale, path)}
<main id="main">${body}</main>
<footer><p>${esc(t.footer)}</p></footer>
</body></html>`;
}

const otherWays = (t: Strings) => `<ul>${t.otherWays.map((w) => `<li>${esc(w.text)}${w.href ? ` <a href="${esc(w.href)}">${esc(t.findOffice)}</a>` : ''}</li>`).join('')}</ul>`;

function startPage(locale: Locale): string {
  const t = TEXT[locale];
  return page(
    locale,
    '/',
    t.startTitle,
    `<h1>${esc(t.startTitle)}</h1>
<p>${esc(t.startIntro)}</p>
<p>${esc(t.startProve)}</p>
<section class="task" aria-labelledby="bill-heading">
<h2 id="bill-heading">${esc(t.billHeading)}</h2>
<p>${esc(t.billText)}</p>
<p><a class="button" href="/login?task=bill" role="button" draggable="false" aria-describedby="bill-heading">${esc(t.billButton)}</a></p>
</section>
<section class="task" aria-labelledby="account-heading">
<h2 id="account-heading">${esc(t.accountHeading)}</h2>
<p>${esc(t.accountText)}</p>
<p><a class="button" href="/login" role="button" draggable="false" aria-describedby="account-heading">${esc(t.startNow)}</a></p>
</section>
<h2>${esc(t.otherWaysHeading)}</h2>
${otherWays(t)}`,
  );
}

function successPage(locale: Locale, path: string, task: Task, identity: VerifiedIdentity, account: CouncilAccount | undefined): string {
  const t = TEXT[locale];
  const a = identity.attributes;
  const title = task === 'bill' ? t.billTitle : t.accountTitle;
  const name = [a.given_name, a.family_name].filter(Boolean).join(' ');
  const figures = account ? `<dt>${esc(t.band)}</dt><dd>${esc(account.band)}</dd><dt>${esc(t.owed)}</dt><dd>${esc(money(account.balance_pence, locale))}</dd>` : '';
  return page(
    locale,
    path,
    title,
    `<h1>${esc(title)}</h1>
<div class="panel"><p>${esc(identity.match ? t.provedFound : t.provedOnly)}</p>
${identity.match ? `<p>${esc(t.accountRef)} <span class="ref">${esc(identity.match.accountRef)}</span></p>` : `<p>${esc(t.notLinked)}</p>`}</div>
${
  task === 'bill'
    ? `<h2>${esc(t.yourBill)}</h2>
<dl><dt>${esc(t.name)}</dt><dd>${esc(name)}</dd>${figures}</dl>
<p>${esc(t.billMore)} <a href="/login">${esc(t.accountHeading)}</a></p>`
    : `<h2>${esc(t.yourDetails)}</h2>
<dl><dt>${esc(t.name)}</dt><dd>${esc(name)}</dd><dt>${esc(t.dateOfBirth)}</dt><dd>${esc(dateInWords(a.birthdate, locale))}</dd>${figures}</dl>`
}
${identity.match ? '' : `<h2>${esc(t.otherWaysHeading)}</h2>\n${otherWays(t)}`}
<p><a href="/">${esc(t.backToStart)}</a></p>`,
  );
}

function failurePage(locale: Locale, path: string, task: Task, error: BrokerError): string {
  const t = TEXT[locale];
  return page(
    locale,
    path,
    t.failTitle,
    `<h1>${esc(t.failTitle)}</h1>
<p>${esc(t.failure[error.code])}</p>
${error.code === 'level_not_met' && task === 'account' ? `<p>${esc(t.billInstead)} <a href="/login?task=bill">${esc(t.billButton)}</a></p>` : ''}
${error.caseReference ? `<div class="panel"><h2>${esc(t.caseHeading)}</h2><p>${t.caseRef(error.caseReference)}</p><p>${esc(t.caseKeep)}</p></div>` : ''}
${error.journeyReference ? `<p>${t.quoteRef(error.journeyReference)}</p>` : ''}
<h2>${esc(t.otherWaysFailHeading)}</h2>
${otherWays(t)}
<p><a href="/">${esc(t.startAgain)}</a></p>`,
  );
}

/** What a sign-in ended with, as kept for its result page. */
type Outcome = ({ identity: VerifiedIdentity; account: CouncilAccount | undefined } | { error: BrokerError }) & { task: Task };

/** The example's sessions: in memory, one per browser (an HttpOnly cookie), each outcome kept 30 minutes. */
class Sessions {
  static readonly COOKIE = 'council_session';
  static readonly TTL_MS = 30 * 60 * 1000;
  private readonly byId = new Map<string, { expires: number; outcomes: Map<string, Outcome>; tasks: Map<string, Task> }>();
  constructor(private readonly secure: boolean) {}

  private session(ctx: Koa.Context, create: boolean) {
    const now = Date.now();
    for (const [id, s] of this.byId) if (s.expires < now) this.byId.delete(id);
    const sid = ctx.cookies.get(Sessions.COOKIE);
    let session = sid ? this.byId.get(sid) : undefined;
    if (!session && create) {
      const id = randomBytes(24).toString('base64url');
      session = { expires: 0, outcomes: new Map(), tasks: new Map() };
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

  /** Which task a sign-in (by its state) was started for. */
  startTask(ctx: Koa.Context, state: string, task: Task): void {
    const session = this.session(ctx, true)!;
    session.tasks.set(state, task);
    while (session.tasks.size > 10) session.tasks.delete(session.tasks.keys().next().value!);
  }

  taskOf(ctx: Koa.Context, state: unknown): Task {
    return (typeof state === 'string' ? this.session(ctx, false)?.tasks.get(state) : undefined) ?? 'account';
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

  const accountVtr = options.vtr ?? 'Cl.Cm.P2';
  const billVtr = options.billVtr ?? 'Cl.P1';
  const secure = baseUrl.startsWith('https://');
  /** ?lang=en|cy (the toggle, remembered in a cookie), else the cookie, else English. */
  const localeOf = (ctx: Koa.Context): Locale => {
    const asked = ctx.query.lang;
    if (asked === 'en' || asked === 'cy') {
      ctx.cookies.set('council_lang', asked, { httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge: 365 * 24 * 3600 * 1000, overwrite: true });
      return asked;
    }
    const kept = ctx.cookies.get('council_lang');
    return kept === 'cy' ? 'cy' : 'en';
  };

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
      ctx.body = failurePage(localeOf(ctx), '/', 'account', new BrokerError('server_error', 'the service could not reach the broker'));
    }
  });
  // Post/redirect/get: the callback keeps the outcome in this browser's session and sends the
  // browser to /result/<id>, a stable page: refresh, Back and a second tab are all harmless.
  const sessions = new Sessions(secure);
  const taskOf = (ctx: Koa.Context): Task => (ctx.query.task === 'bill' ? 'bill' : 'account');
  // Remember which task each sign-in was for (by its state), for its result page.
  app.use(async (ctx, next) => {
    await next();
    const location = ctx.path === '/login' && ctx.status === 303 ? ctx.response.get('Location') : '';
    const state = location ? new URL(location).searchParams.get('state') : null;
    if (state) sessions.startTask(ctx, state, taskOf(ctx));
  });
  app.use(
    koaBrokerLogin<Koa.Context>(brokerClient, {
      cookieKey,
      vtr: accountVtr,
      // Both tasks match the person to the council's records: name, date of birth and postcode.
      attributes: ['given_name', 'family_name', 'birthdate', 'address'],
      loginOptions: (ctx) => ({ vtr: taskOf(ctx) === 'bill' ? billVtr : accountVtr, uiLocales: localeOf(ctx) }),
      onSuccess(ctx, identity) {
        const account = identity.match ? records.find((r) => r.account_ref === identity.match!.accountRef) : undefined;
        // The level reached decides what is shown, whatever the task asked: the bill at P1.
        const accountVectors = typeof accountVtr === 'string' ? [accountVtr] : accountVtr;
        const task: Task = meetsAny(identity.level, accountVectors) ? sessions.taskOf(ctx, ctx.query.state) : 'bill';
        return `/result/${sessions.keep(ctx, { identity, account, task })}`;
      },
      onError(ctx, error) {
        return `/result/${sessions.keep(ctx, { error, task: sessions.taskOf(ctx, ctx.query.state) })}`;
      },
    }),
  );
  app.use(async (ctx) => {
    if (ctx.path === '/matching') return matching.koa(ctx);
    const locale = localeOf(ctx);
    const t = TEXT[locale];
    const result = /^\/result\/([\w-]{1,64})$/.exec(ctx.path);
    if (result && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
      const outcome = sessions.find(ctx, result[1]!);
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'html';
      if (!outcome) {
        ctx.status = 404;
        ctx.body = page(locale, ctx.path, t.expiredTitle, `<h1>${esc(t.expiredTitle)}</h1><p>${esc(t.expiredText)}</p><p><a href="/">${esc(t.startAgain)}</a></p>`);
        return;
      }
      ctx.body = 'error' in outcome ? failurePage(locale, ctx.path, outcome.task, outcome.error) : successPage(locale, ctx.path, outcome.task, outcome.identity, outcome.account);
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
      ctx.body = page(locale, ctx.path, t.notFoundTitle, `<h1>${esc(t.notFoundTitle)}</h1><p><a href="/">${esc(t.goToStart)}</a></p>`);
      return;
    }
    ctx.type = 'html';
    ctx.body = startPage(locale);
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
