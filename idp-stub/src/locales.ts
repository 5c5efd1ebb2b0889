/**
 * The stub's words in English and Welsh. `cy` has the type of `en`, so the compiler checks that
 * both have every key; a function takes what the sentence needs (already escaped where it returns HTML).
 */
import type Koa from 'koa';

export type Locale = 'en' | 'cy';
export const LOCALES: readonly Locale[] = ['en', 'cy'];

const en = {
  stubNote: 'A demonstration identity provider: not a real service.',
  skipLink: 'Skip to main content',
  languageNav: 'Language',
  errorPrefix: 'Error',
  errorSummary: 'There is a problem',
  signIn: 'Sign in',
  signInForPasskey: 'Sign in to set up a passkey',
  username: 'Username',
  password: 'Password',
  continue: 'Continue',
  demoAccounts: 'Demo accounts: margaret, dylan, priya, sam. The password for each is shown in the project README.',
  chooseAnother: 'Choose another identity provider',
  chooseAnotherHint: 'You will go back to the list of identity providers. Nothing is shared.',
  enterUsername: 'Enter your username',
  enterPassword: 'Enter your password',
  wrongPassword: 'The username or password is not right',
  confirmTitle: 'Confirm it is you',
  codeHeading: 'Use a code sent to your phone',
  codeSent: (ending: string) => `We sent a 6-digit code to your phone number ending ${ending}.`,
  demoOnly: 'Demo only:',
  demoCodeText: 'no message is really sent. Your code is:',
  securityCode: 'Security code',
  codeHint: 'The code is 6 digits.',
  orPasskey: 'Or use a passkey',
  usePasskeyHeading: 'Use your passkey',
  passkeyNeedsJs: 'Using a passkey needs JavaScript to be turned on in your browser.',
  usePasskeyButton: 'Use a passkey',
  noPasskeyYet: 'You have not set up a passkey with us yet.',
  setUpPasskeyLink: 'Set up a passkey',
  afterSetUp: '(opens the passkey page; come back to this page afterwards and reload it).',
  requestNewCode: 'Request a new code',
  codeWrong: 'The security code is not right',
  codeFormat: 'Enter the 6-digit security code',
  passkeyFailed: 'Your passkey could not be used. Try again, or use another way',
  tooManyTitle: 'Too many attempts',
  tooManyPasswords: (minutes: number) => `You entered the wrong username or password too many times. Wait ${minutes} minutes, then try again.`,
  tooManyCodesTitle: 'Too many wrong security codes',
  tooManyCodes: (minutes: number) => `You entered the wrong security code too many times. Wait ${minutes} minutes, then try again, or use a passkey.`,
  sessionEndedTitle: 'Your session has ended',
  sessionEnded: 'Signing in here has already finished, or it took too long. Nothing more will be shared from here.',
  backToJourney: 'Go back to choosing how to prove your identity',
  problemTitle: 'Sorry, there is a problem',
  formExpired: 'The form has expired.',
  formExpiredReload: 'The form has expired. Reload the page and try again.',
  requestProblem: (detail: string) => `The request could not be handled: ${detail}.`,
  notFoundTitle: 'Page not found',
  notFoundTyped: 'If you typed the web address, check it is correct.',
  notFoundPasted: 'If you pasted the web address, check you copied the entire address.',
  setUpTitle: 'Set up a passkey',
  signedInAs: (usernameHtml: string, count: number) => `Signed in as <strong>${usernameHtml}</strong>. You have ${count} passkey${count === 1 ? '' : 's'} with us.`,
  setUpNeedsJs: 'Setting up a passkey needs JavaScript to be turned on in your browser.',
  createPasskey: 'Create a passkey',
  passkeySetUpFailed: 'The passkey could not be set up. Try again',
  passkeySetUpTitle: 'Passkey set up',
  passkeySetUp: (count: number) => `You can now use your passkey to sign in. You have ${count} passkey${count === 1 ? '' : 's'}.`,
  signInAgainTitle: 'Sign in again',
  passkeySessionEnded: 'Your passkey set-up session has ended.',
  signInAgainLink: 'Sign in again to set up a passkey',
};

export type Strings = typeof en;

const cy: Strings = {
  stubNote: 'Darparwr hunaniaeth i’w arddangos: nid gwasanaeth go iawn.',
  skipLink: 'Neidio i’r prif gynnwys',
  languageNav: 'Iaith',
  errorPrefix: 'Gwall',
  errorSummary: 'Mae problem wedi codi',
  signIn: 'Mewngofnodi',
  signInForPasskey: 'Mewngofnodi i osod allwedd mynediad',
  username: 'Enw defnyddiwr',
  password: 'Cyfrinair',
  continue: 'Parhau',
  demoAccounts: 'Cyfrifon enghreifftiol: margaret, dylan, priya, sam. Mae cyfrinair pob un yn ffeil README y prosiect.',
  chooseAnother: 'Dewis darparwr hunaniaeth arall',
  chooseAnotherHint: 'Byddwch yn mynd yn ôl at y rhestr o ddarparwyr hunaniaeth. Nid oes dim yn cael ei rannu.',
  enterUsername: 'Rhowch eich enw defnyddiwr',
  enterPassword: 'Rhowch eich cyfrinair',
  wrongPassword: 'Nid yw’r enw defnyddiwr neu’r cyfrinair yn gywir',
  confirmTitle: 'Cadarnhau mai chi sydd yno',
  codeHeading: 'Defnyddio cod a anfonwyd i’ch ffôn',
  codeSent: (ending: string) => `Rydym wedi anfon cod 6 digid i’ch rhif ffôn sy’n gorffen â ${ending}.`,
  demoOnly: 'Arddangos yn unig:',
  demoCodeText: 'nid oes neges yn cael ei hanfon go iawn. Eich cod yw:',
  securityCode: 'Cod diogelwch',
  codeHint: 'Mae’r cod yn 6 digid.',
  orPasskey: 'Neu defnyddiwch allwedd mynediad',
  usePasskeyHeading: 'Defnyddio eich allwedd mynediad',
  passkeyNeedsJs: 'I ddefnyddio allwedd mynediad, mae angen i JavaScript fod ymlaen yn eich porwr.',
  usePasskeyButton: 'Defnyddio allwedd mynediad',
  noPasskeyYet: 'Nid ydych wedi gosod allwedd mynediad gyda ni eto.',
  setUpPasskeyLink: 'Gosod allwedd mynediad',
  afterSetUp: '(mae’n agor tudalen yr allwedd mynediad; dewch yn ôl i’r dudalen hon wedyn a’i hail-lwytho).',
  requestNewCode: 'Gofynnwch am god newydd',
  codeWrong: 'Nid yw’r cod diogelwch yn gywir',
  codeFormat: 'Rhowch y cod diogelwch 6 digid',
  passkeyFailed: 'Nid oedd modd defnyddio eich allwedd mynediad. Rhowch gynnig arall arni, neu defnyddiwch ffordd arall',
  tooManyTitle: 'Gormod o ymdrechion',
  tooManyPasswords: (minutes: number) => `Rydych wedi rhoi’r enw defnyddiwr neu’r cyfrinair anghywir ormod o weithiau. Arhoswch ${minutes} munud, yna rhowch gynnig arall arni.`,
  tooManyCodesTitle: 'Gormod o godau diogelwch anghywir',
  tooManyCodes: (minutes: number) => `Rydych wedi rhoi’r cod diogelwch anghywir ormod o weithiau. Arhoswch ${minutes} munud, yna rhowch gynnig arall arni, neu defnyddiwch allwedd mynediad.`,
  sessionEndedTitle: 'Mae eich sesiwn wedi dod i ben',
  sessionEnded: 'Mae mewngofnodi yma eisoes wedi gorffen, neu fe gymerodd ormod o amser. Ni fydd dim rhagor yn cael ei rannu o’r fan hon.',
  backToJourney: 'Mynd yn ôl at ddewis sut i brofi pwy ydych chi',
  problemTitle: 'Mae’n ddrwg gennym, mae problem wedi codi',
  formExpired: 'Mae’r ffurflen wedi dod i ben.',
  formExpiredReload: 'Mae’r ffurflen wedi dod i ben. Ail-lwythwch y dudalen a rhowch gynnig arall arni.',
  requestProblem: (detail: string) => `Nid oedd modd delio â’r cais: ${detail}.`,
  notFoundTitle: 'Heb ddod o hyd i’r dudalen',
  notFoundTyped: 'Os gwnaethoch deipio’r cyfeiriad gwe, gwiriwch ei fod yn gywir.',
  notFoundPasted: 'Os gwnaethoch ludo’r cyfeiriad gwe, gwiriwch eich bod wedi copïo’r cyfeiriad cyfan.',
  setUpTitle: 'Gosod allwedd mynediad',
  signedInAs: (usernameHtml: string, count: number) => `Wedi mewngofnodi fel <strong>${usernameHtml}</strong>. Mae gennych ${count} allwedd mynediad gyda ni.`,
  setUpNeedsJs: 'I osod allwedd mynediad, mae angen i JavaScript fod ymlaen yn eich porwr.',
  createPasskey: 'Creu allwedd mynediad',
  passkeySetUpFailed: 'Nid oedd modd gosod yr allwedd mynediad. Rhowch gynnig arall arni',
  passkeySetUpTitle: 'Allwedd mynediad wedi’i gosod',
  passkeySetUp: (count: number) => `Gallwch nawr ddefnyddio eich allwedd mynediad i fewngofnodi. Mae gennych ${count} allwedd mynediad.`,
  signInAgainTitle: 'Mewngofnodi eto',
  passkeySessionEnded: 'Mae eich sesiwn gosod allwedd mynediad wedi dod i ben.',
  signInAgainLink: 'Mewngofnodi eto i osod allwedd mynediad',
};

const STRINGS: Record<Locale, Strings> = { en, cy };

export function stringsFor(locale: Locale): Strings {
  return STRINGS[locale];
}

const LANG_COOKIE = 'idp_stub_lang';

const asLocale = (v: unknown): Locale | undefined => (v === 'en' || v === 'cy' ? v : undefined);

/** The first of `ui_locales` (space-separated BCP 47 tags) that the stub speaks. */
export function fromUiLocales(uiLocales: unknown): Locale | undefined {
  if (typeof uiLocales !== 'string') return undefined;
  for (const tag of uiLocales.split(' ')) {
    const primary = asLocale(tag.toLowerCase().split('-')[0]);
    if (primary) return primary;
  }
  return undefined;
}

/**
 * The language of a page: ?lang=en|cy (the toggle; remembered in a cookie), else what this sign-in
 * was opened with or switched to (`interaction`), else the cookie, else English.
 */
export function resolveLocale(ctx: Koa.Context, interaction?: Locale): Locale {
  const asked = asLocale(ctx.query?.lang);
  if (asked) {
    rememberLocale(ctx, asked);
    return asked;
  }
  return interaction ?? asLocale(ctx.cookies.get(LANG_COOKIE)) ?? 'en';
}

/** Remember the language a sign-in is shown in, for the stub's pages after it has ended (Back, a dead link). */
export function rememberLocale(ctx: Koa.Context, locale: Locale): void {
  if (ctx.cookies.get(LANG_COOKIE) !== locale) {
    ctx.cookies.set(LANG_COOKIE, locale, { httpOnly: true, sameSite: 'lax', path: '/', maxAge: 365 * 24 * 3600 * 1000, overwrite: true, signed: false });
  }
}

/** The same page in the other language: ?lang=<locale>, other query parameters dropped (the stub's pages need none). */
export function languageHref(path: string, locale: Locale): string {
  return `${path}?lang=${locale}`;
}
