/** Plain, accessible HTML for the stub's pages, in English or Welsh. No inline scripts or styles (strict CSP). */
import { LOCALES, languageHref, stringsFor, type Locale, type Strings } from './locales.js';

export function esc(value: unknown): string {
  return String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

export interface LayoutOptions {
  idpName: string;
  title: string;
  locale: Locale;
  /** The path this page is at for GET: the language toggle links to it. None: no toggle (a page only reached by POST). */
  langPath?: string;
  scripts?: boolean;
}

const LANGUAGE_NAMES: Record<Locale, string> = { en: 'English', cy: 'Cymraeg' };

function languageToggle(t: Strings, locale: Locale, path: string): string {
  const items = LOCALES.map((l) =>
    l === locale
      ? `<li><span aria-current="true" lang="${l}">${LANGUAGE_NAMES[l]}</span></li>`
      : `<li><a href="${esc(languageHref(path, l))}" lang="${l}" hreflang="${l}">${LANGUAGE_NAMES[l]}</a></li>`,
  );
  return `<nav class="language" aria-label="${esc(t.languageNav)}"><ul>${items.join('')}</ul></nav>`;
}

export function layout(o: LayoutOptions, body: string): string {
  const t = stringsFor(o.locale);
  const scripts = o.scripts
    ? '<script src="/static/simplewebauthn-browser.js" defer></script>\n<script src="/static/passkey.js" defer></script>'
    : '';
  return `<!doctype html>
<html lang="${o.locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(o.title)} – ${esc(o.idpName)}</title>
<link rel="stylesheet" href="/static/style.css">
${scripts}
</head>
<body>
<a class="skip" href="#main">${esc(t.skipLink)}</a>
<header class="banner"><p class="brand">${esc(o.idpName)}</p><p class="stub-note">${esc(t.stubNote)}</p></header>
${o.langPath ? languageToggle(t, o.locale, o.langPath) : ''}
<main id="main">
${body}
</main>
</body>
</html>`;
}

function errorSummary(t: Strings, errors: Record<string, string>): string {
  const entries = Object.entries(errors);
  if (entries.length === 0) return '';
  return `<div class="error-summary" role="alert" tabindex="-1">
<h2>${esc(t.errorSummary)}</h2>
<ul>${entries.map(([field, msg]) => `<li><a href="#${esc(field)}">${esc(msg)}</a></li>`).join('')}</ul>
</div>`;
}

function input(t: Strings, name: string, label: string, opts: { type?: string; value?: string; error?: string; autocomplete?: string; hint?: string; inputmode?: string }): string {
  const described = [opts.hint ? `${name}-hint` : '', opts.error ? `${name}-error` : ''].filter(Boolean).join(' ');
  return `<div class="field${opts.error ? ' field-error' : ''}">
<label for="${esc(name)}">${esc(label)}</label>
${opts.hint ? `<p class="hint" id="${esc(name)}-hint">${esc(opts.hint)}</p>` : ''}
${opts.error ? `<p class="error-message" id="${esc(name)}-error"><span class="visually-hidden">${esc(t.errorPrefix)}:</span> ${esc(opts.error)}</p>` : ''}
<input id="${esc(name)}" name="${esc(name)}" type="${esc(opts.type ?? 'text')}" value="${esc(opts.value ?? '')}"${
    opts.autocomplete ? ` autocomplete="${esc(opts.autocomplete)}"` : ''
  }${opts.inputmode ? ` inputmode="${esc(opts.inputmode)}"` : ''}${described ? ` aria-describedby="${esc(described)}"` : ''}${
    opts.error ? ' aria-invalid="true"' : ''
  }>
</div>`;
}

const titleWithErrors = (t: Strings, errors: Record<string, string>, title: string) => `${Object.keys(errors).length ? `${t.errorPrefix}: ` : ''}${title}`;

/** "Choose another identity provider": ends this sign-in (access_denied) back at the broker, which shows its list again. */
function chooseAnother(t: Strings, href: string | undefined): string {
  return href ? `<p class="choose-another"><a href="${esc(href)}">${esc(t.chooseAnother)}</a></p>\n<p class="hint">${esc(t.chooseAnotherHint)}</p>` : '';
}

export function signInPage(o: {
  idpName: string;
  locale: Locale;
  action: string;
  csrf: string;
  langPath?: string;
  username?: string;
  errors?: { username?: string; password?: string };
  heading?: string;
  /** Where "Choose another identity provider" goes (a sign-in for the broker only). */
  cancelHref?: string;
}): string {
  const t = stringsFor(o.locale);
  const errors = Object.fromEntries(Object.entries(o.errors ?? {}).filter(([, v]) => v)) as Record<string, string>;
  const heading = o.heading ?? t.signIn;
  return layout(
    { idpName: o.idpName, locale: o.locale, title: titleWithErrors(t, errors, heading), ...(o.langPath ? { langPath: o.langPath } : {}) },
    `${errorSummary(t, errors)}
<h1>${esc(heading)}</h1>
<form id="sign-in" method="post" action="${esc(o.action)}" novalidate>
<input type="hidden" name="csrf" value="${esc(o.csrf)}">
${input(t, 'username', t.username, { value: o.username, error: errors.username, autocomplete: 'username' })}
${input(t, 'password', t.password, { type: 'password', error: errors.password, autocomplete: 'current-password' })}
<button type="submit" class="button">${esc(t.continue)}</button>
</form>
<p class="hint">${esc(t.demoAccounts)}</p>
${chooseAnother(t, o.cancelHref)}`,
  );
}

export function secondStepPage(o: {
  idpName: string;
  locale: Locale;
  uid: string;
  csrf: string;
  /** Offer the one-time code (Cl.Cm) or only a passkey (Cl.Cm.Cp). */
  allowCode: boolean;
  code?: string;
  phoneEnding?: string;
  hasPasskey: boolean;
  errors?: { code?: string; passkey?: string };
  cancelHref?: string;
}): string {
  const t = stringsFor(o.locale);
  const errors = Object.fromEntries(Object.entries(o.errors ?? {}).filter(([, v]) => v)) as Record<string, string>;
  const codePart = o.allowCode
    ? `<section aria-labelledby="code-heading">
<h2 id="code-heading">${esc(t.codeHeading)}</h2>
<p>${esc(t.codeSent(o.phoneEnding ?? ''))}</p>
<div class="demo-box" role="note" aria-labelledby="demo-box-label">
<p id="demo-box-label"><strong>${esc(t.demoOnly)}</strong> ${esc(t.demoCodeText)}</p>
<p class="demo-code" data-testid="demo-code">${esc(o.code ?? '')}</p>
</div>
<form id="code-form" method="post" action="/interaction/${esc(o.uid)}/code" novalidate>
<input type="hidden" name="csrf" value="${esc(o.csrf)}">
${input(t, 'code', t.securityCode, { error: errors.code, autocomplete: 'one-time-code', inputmode: 'numeric', hint: t.codeHint })}
<button type="submit" class="button">${esc(t.continue)}</button>
</form>
</section>`
    : '';
  // Progressive enhancement: the sentence about JavaScript shows only when JavaScript is off.
  const passkeyPart = `<section aria-labelledby="passkey-heading">
<h2 id="passkey-heading">${esc(o.allowCode ? t.orPasskey : t.usePasskeyHeading)}</h2>
<noscript><p class="no-js">${esc(t.passkeyNeedsJs)}</p></noscript>
${errors.passkey ? `<p class="error-message" id="passkey-error"><span class="visually-hidden">${esc(t.errorPrefix)}:</span> ${esc(errors.passkey)}</p>` : ''}
${
  o.hasPasskey
    ? `<form id="passkey-form" method="post" action="/interaction/${esc(o.uid)}/passkey" data-passkey="authenticate" data-options-url="/interaction/${esc(o.uid)}/passkey/options">
<input type="hidden" name="csrf" value="${esc(o.csrf)}">
<input type="hidden" name="response" value="">
<button type="submit" class="button" id="passkey"${errors.passkey ? ' aria-describedby="passkey-error"' : ''}>${esc(t.usePasskeyButton)}</button>
</form>`
    : `<p>${esc(t.noPasskeyYet)} <a href="/passkeys">${esc(t.setUpPasskeyLink)}</a> ${esc(t.afterSetUp)}</p>`
}
</section>`;
  return layout(
    { idpName: o.idpName, locale: o.locale, title: titleWithErrors(t, errors, t.confirmTitle), langPath: `/interaction/${o.uid}`, scripts: o.hasPasskey },
    `${errorSummary(t, errors)}
<h1>${esc(t.confirmTitle)}</h1>
${codePart}
${passkeyPart}
${chooseAnother(t, o.cancelHref)}`,
  );
}

/** A page that says what happened, with an optional way on (a link). */
export function messagePage(o: { idpName: string; locale: Locale; title: string; message: string; link?: { href: string; text: string }; langPath?: string }): string {
  return layout(
    { idpName: o.idpName, locale: o.locale, title: o.title, ...(o.langPath ? { langPath: o.langPath } : {}) },
    `<h1>${esc(o.title)}</h1>\n<p>${esc(o.message)}</p>${o.link ? `\n<p><a href="${esc(o.link.href)}">${esc(o.link.text)}</a></p>` : ''}`,
  );
}

/** The GOV.UK "page not found" pattern, with the way back to the broker. */
export function notFoundPage(o: { idpName: string; locale: Locale; path: string; resumeHref?: string }): string {
  const t = stringsFor(o.locale);
  return layout(
    { idpName: o.idpName, locale: o.locale, title: t.notFoundTitle, langPath: o.path },
    `<h1>${esc(t.notFoundTitle)}</h1>
<p>${esc(t.notFoundTyped)}</p>
<p>${esc(t.notFoundPasted)}</p>
${o.resumeHref ? `<p><a href="${esc(o.resumeHref)}">${esc(t.backToJourney)}</a></p>` : ''}`,
  );
}

export function registerPasskeyPage(o: { idpName: string; locale: Locale; csrf: string; username: string; count: number; error?: string }): string {
  const t = stringsFor(o.locale);
  return layout(
    { idpName: o.idpName, locale: o.locale, title: o.error ? `${t.errorPrefix}: ${t.setUpTitle}` : t.setUpTitle, langPath: '/passkeys', scripts: true },
    `<h1>${esc(t.setUpTitle)}</h1>
<p>${t.signedInAs(esc(o.username), o.count)}</p>
<noscript><p class="no-js">${esc(t.setUpNeedsJs)}</p></noscript>
${o.error ? `<p class="error-message" id="passkey-error" role="alert"><span class="visually-hidden">${esc(t.errorPrefix)}:</span> ${esc(o.error)}</p>` : ''}
<form id="register-form" method="post" action="/passkeys/register" data-passkey="register" data-options-url="/passkeys/register/options">
<input type="hidden" name="csrf" value="${esc(o.csrf)}">
<input type="hidden" name="response" value="">
<button type="submit" class="button" id="passkey"${o.error ? ' aria-describedby="passkey-error"' : ''}>${esc(t.createPasskey)}</button>
</form>`,
  );
}
