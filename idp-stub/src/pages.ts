/** Plain, accessible HTML for the stub's pages. No inline scripts or styles (strict CSP). */

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
  scripts?: boolean;
}

export function layout(o: LayoutOptions, body: string): string {
  const scripts = o.scripts
    ? '<script src="/static/simplewebauthn-browser.js" defer></script>\n<script src="/static/passkey.js" defer></script>'
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(o.title)} – ${esc(o.idpName)}</title>
<link rel="stylesheet" href="/static/style.css">
${scripts}
</head>
<body>
<header class="banner"><p class="brand">${esc(o.idpName)}</p><p class="stub-note">A demonstration identity provider: not a real service.</p></header>
<main id="main">
${body}
</main>
</body>
</html>`;
}

function errorSummary(errors: Record<string, string>): string {
  const entries = Object.entries(errors);
  if (entries.length === 0) return '';
  return `<div class="error-summary" role="alert" tabindex="-1">
<h2>There is a problem</h2>
<ul>${entries.map(([field, msg]) => `<li><a href="#${esc(field)}">${esc(msg)}</a></li>`).join('')}</ul>
</div>`;
}

function input(name: string, label: string, opts: { type?: string; value?: string; error?: string; autocomplete?: string; hint?: string; inputmode?: string }): string {
  const described = [opts.hint ? `${name}-hint` : '', opts.error ? `${name}-error` : ''].filter(Boolean).join(' ');
  return `<div class="field${opts.error ? ' field-error' : ''}">
<label for="${esc(name)}">${esc(label)}</label>
${opts.hint ? `<p class="hint" id="${esc(name)}-hint">${esc(opts.hint)}</p>` : ''}
${opts.error ? `<p class="error-message" id="${esc(name)}-error"><span class="visually-hidden">Error:</span> ${esc(opts.error)}</p>` : ''}
<input id="${esc(name)}" name="${esc(name)}" type="${esc(opts.type ?? 'text')}" value="${esc(opts.value ?? '')}"${
    opts.autocomplete ? ` autocomplete="${esc(opts.autocomplete)}"` : ''
  }${opts.inputmode ? ` inputmode="${esc(opts.inputmode)}"` : ''}${described ? ` aria-describedby="${esc(described)}"` : ''}${
    opts.error ? ' aria-invalid="true"' : ''
  }>
</div>`;
}

export function signInPage(o: {
  idpName: string;
  action: string;
  csrf: string;
  username?: string;
  errors?: { username?: string; password?: string };
  heading?: string;
}): string {
  const errors = Object.fromEntries(Object.entries(o.errors ?? {}).filter(([, v]) => v)) as Record<string, string>;
  return layout(
    { idpName: o.idpName, title: `${Object.keys(errors).length ? 'Error: ' : ''}${o.heading ?? 'Sign in'}` },
    `${errorSummary(errors)}
<h1>${esc(o.heading ?? 'Sign in')}</h1>
<form id="sign-in" method="post" action="${esc(o.action)}" novalidate>
<input type="hidden" name="csrf" value="${esc(o.csrf)}">
${input('username', 'Username', { value: o.username, error: errors.username, autocomplete: 'username' })}
${input('password', 'Password', { type: 'password', error: errors.password, autocomplete: 'current-password' })}
<button type="submit" class="button">Continue</button>
</form>
<p class="hint">Demo accounts: margaret, dylan, priya, sam. The password for each is shown in the project README.</p>`,
  );
}

export function secondStepPage(o: {
  idpName: string;
  uid: string;
  csrf: string;
  /** Offer the one-time code (Cl.Cm) or only a passkey (Cl.Cm.Cp). */
  allowCode: boolean;
  code?: string;
  phoneEnding?: string;
  hasPasskey: boolean;
  errors?: { code?: string; passkey?: string };
}): string {
  const errors = Object.fromEntries(Object.entries(o.errors ?? {}).filter(([, v]) => v)) as Record<string, string>;
  const codePart = o.allowCode
    ? `<section aria-labelledby="code-heading">
<h2 id="code-heading">Use a code sent to your phone</h2>
<p>We sent a 6-digit code to your phone number ending ${esc(o.phoneEnding ?? '')}.</p>
<div class="demo-box" role="note" aria-labelledby="demo-box-label">
<p id="demo-box-label"><strong>Demo only:</strong> no message is really sent. Your code is:</p>
<p class="demo-code" data-testid="demo-code">${esc(o.code ?? '')}</p>
</div>
<form id="code-form" method="post" action="/interaction/${esc(o.uid)}/code" novalidate>
<input type="hidden" name="csrf" value="${esc(o.csrf)}">
${input('code', 'Security code', { error: errors.code, autocomplete: 'one-time-code', inputmode: 'numeric', hint: 'The code is 6 digits.' })}
<button type="submit" class="button">Continue</button>
</form>
</section>`
    : '';
  const passkeyPart = `<section aria-labelledby="passkey-heading">
<h2 id="passkey-heading">${o.allowCode ? 'Or use a passkey' : 'Use your passkey'}</h2>
<p>Using a passkey needs JavaScript to be turned on in your browser.</p>
${errors.passkey ? `<p class="error-message" id="passkey-error"><span class="visually-hidden">Error:</span> ${esc(errors.passkey)}</p>` : ''}
${
  o.hasPasskey
    ? `<form id="passkey-form" method="post" action="/interaction/${esc(o.uid)}/passkey" data-passkey="authenticate" data-options-url="/interaction/${esc(o.uid)}/passkey/options">
<input type="hidden" name="csrf" value="${esc(o.csrf)}">
<input type="hidden" name="response" value="">
<button type="submit" class="button" id="passkey"${errors.passkey ? ' aria-describedby="passkey-error"' : ''}>Use a passkey</button>
</form>`
    : `<p>You have not set up a passkey with us yet. <a href="/passkeys">Set up a passkey</a> (opens the passkey page; come back to this page afterwards and reload it).</p>`
}
</section>`;
  return layout(
    { idpName: o.idpName, title: `${Object.keys(errors).length ? 'Error: ' : ''}Confirm it is you`, scripts: o.hasPasskey },
    `${errorSummary(errors)}
<h1>Confirm it is you</h1>
${codePart}
${passkeyPart}`,
  );
}

export function messagePage(idpName: string, title: string, message: string, status = ''): string {
  return layout({ idpName, title }, `<h1>${esc(title)}</h1>\n<p${status ? ` class="${esc(status)}"` : ''}>${esc(message)}</p>`);
}

export function registerPasskeyPage(o: { idpName: string; csrf: string; username: string; count: number; error?: string }): string {
  return layout(
    { idpName: o.idpName, title: 'Set up a passkey', scripts: true },
    `<h1>Set up a passkey</h1>
<p>Signed in as <strong>${esc(o.username)}</strong>. You have ${o.count} passkey${o.count === 1 ? '' : 's'} with us.</p>
<p>Setting up a passkey needs JavaScript to be turned on in your browser.</p>
${o.error ? `<p class="error-message" id="passkey-error" role="alert"><span class="visually-hidden">Error:</span> ${esc(o.error)}</p>` : ''}
<form id="register-form" method="post" action="/passkeys/register" data-passkey="register" data-options-url="/passkeys/register/options">
<input type="hidden" name="csrf" value="${esc(o.csrf)}">
<input type="hidden" name="response" value="">
<button type="submit" class="button" id="passkey"${o.error ? ' aria-describedby="passkey-error"' : ''}>Create a passkey</button>
</form>`,
  );
}
