/**
 * The example service's words in English and Welsh. `cy` has the type of `en`: the compiler checks
 * both have every key. Functions take what the sentence needs; values that return HTML escape
 * what they are given.
 */
import type { BrokerErrorCode } from '../../src/index.js';

export type Locale = 'en' | 'cy';

export const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const ref = (r: string) => `<span class="ref">${esc(r)}</span>`;

const en = {
  council: 'Example Borough Council',
  skipLink: 'Skip to main content',
  languageNav: 'Language',
  footer: 'This is an example service for the identity assurance broker. It holds demo records only.',
  startTitle: 'Pay your council tax',
  startIntro: 'Use this service to see your council tax bill, or to see your account and pay.',
  startProve: 'You will need to prove your identity. You can choose who checks it: a public service, a company or a charity.',
  billHeading: 'View your bill',
  billText: 'See your council tax band and how much you owe. A basic check of your identity is enough: you can use a provider where someone who has known you for years vouches for you, with no passport or credit history.',
  billButton: 'View your bill',
  accountHeading: 'See your account and pay',
  accountText: 'See your account and pay what you owe. This needs a more thorough check of your identity, for example with a passport or driving licence and a code sent to your phone.',
  startNow: 'Start now',
  otherWaysHeading: 'Other ways to pay',
  otherWaysFailHeading: 'Other ways to pay your council tax',
  findOffice: 'Find a council office',
  otherWays: [
    { text: 'Phone the council tax team on 0300 123 4567 (Monday to Friday, 9am to 5pm). We can take payment by phone.' },
    { text: 'Visit a council office with a council tax bill. You do not need an appointment.', href: 'https://example.gov.uk/council-offices' },
    { text: 'Pay by post with the payment slip on your bill.' },
  ] as Array<{ text: string; href?: string }>,
  accountTitle: 'Your council tax account',
  billTitle: 'Your council tax bill',
  provedFound: 'You have proved your identity and we found your account.',
  provedOnly: 'You have proved your identity.',
  notLinked: 'We could not link you to a council tax account. Contact us using one of the ways below.',
  accountRef: 'Account reference',
  yourDetails: 'Your details',
  yourBill: 'Your bill',
  name: 'Name',
  dateOfBirth: 'Date of birth',
  band: 'Council tax band',
  owed: 'Amount you owe',
  billMore: 'To see your whole account or to pay, you need a more thorough check of your identity.',
  backToStart: 'Back to the start',
  failTitle: 'We could not show your account',
  caseHeading: 'Your support case',
  caseRef: (r: string) => `Your support case reference is ${ref(r)}.`,
  caseKeep: 'Keep it: you can use it to check your case. You do not need to contact us or the identity provider separately.',
  quoteRef: (r: string) => `If you contact us, quote reference ${ref(r)}.`,
  billInstead: 'You can still view your bill: it needs a less thorough check of your identity.',
  startAgain: 'Start again',
  expiredTitle: 'This page has expired',
  expiredText: 'For your security, what you saw here is kept for 30 minutes and only in the browser you signed in with.',
  notFoundTitle: 'Page not found',
  goToStart: 'Go to the start page',
  failure: {
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
  } as Record<BrokerErrorCode, string>,
};

export type Strings = typeof en;

const cy: Strings = {
  council: 'Cyngor Bwrdeistref Enghreifftiol',
  skipLink: 'Neidio i’r prif gynnwys',
  languageNav: 'Iaith',
  footer: 'Gwasanaeth enghreifftiol ar gyfer y brocer sicrwydd hunaniaeth yw hwn. Dim ond cofnodion enghreifftiol sydd ynddo.',
  startTitle: 'Talu eich treth gyngor',
  startIntro: 'Defnyddiwch y gwasanaeth hwn i weld eich bil treth gyngor, neu i weld eich cyfrif a thalu.',
  startProve: 'Bydd angen i chi brofi pwy ydych chi. Gallwch ddewis pwy sy’n gwirio: gwasanaeth cyhoeddus, cwmni neu elusen.',
  billHeading: 'Gweld eich bil',
  billText: 'Gweld band eich treth gyngor a faint sy’n ddyledus gennych. Mae gwiriad sylfaenol o bwy ydych chi yn ddigon: gallwch ddefnyddio darparwr lle mae rhywun sydd wedi eich adnabod ers blynyddoedd yn gwarantu pwy ydych chi, heb basbort na hanes credyd.',
  billButton: 'Gweld eich bil',
  accountHeading: 'Gweld eich cyfrif a thalu',
  accountText: 'Gweld eich cyfrif a thalu’r hyn sy’n ddyledus gennych. Mae angen gwiriad mwy trylwyr o bwy ydych chi ar gyfer hyn, er enghraifft gyda phasbort neu drwydded yrru a chod a anfonir i’ch ffôn.',
  startNow: 'Dechrau nawr',
  otherWaysHeading: 'Ffyrdd eraill o dalu',
  otherWaysFailHeading: 'Ffyrdd eraill o dalu eich treth gyngor',
  findOffice: 'Dod o hyd i swyddfa’r cyngor',
  otherWays: [
    { text: 'Ffoniwch y tîm treth gyngor ar 0300 123 4567 (dydd Llun i ddydd Gwener, 9am i 5pm). Gallwn gymryd taliad dros y ffôn.' },
    { text: 'Ewch i un o swyddfeydd y cyngor gyda bil treth gyngor. Nid oes angen apwyntiad arnoch.', href: 'https://example.gov.uk/council-offices' },
    { text: 'Talwch drwy’r post gyda’r slip talu ar eich bil.' },
  ],
  accountTitle: 'Eich cyfrif treth gyngor',
  billTitle: 'Eich bil treth gyngor',
  provedFound: 'Rydych wedi profi pwy ydych chi ac rydym wedi dod o hyd i’ch cyfrif.',
  provedOnly: 'Rydych wedi profi pwy ydych chi.',
  notLinked: 'Nid oeddem yn gallu eich cysylltu â chyfrif treth gyngor. Cysylltwch â ni drwy un o’r ffyrdd isod.',
  accountRef: 'Cyfeirnod y cyfrif',
  yourDetails: 'Eich manylion',
  yourBill: 'Eich bil',
  name: 'Enw',
  dateOfBirth: 'Dyddiad geni',
  band: 'Band treth gyngor',
  owed: 'Swm sy’n ddyledus gennych',
  billMore: 'I weld eich cyfrif cyfan neu i dalu, mae angen gwiriad mwy trylwyr o bwy ydych chi.',
  backToStart: 'Yn ôl i’r dechrau',
  failTitle: 'Nid oeddem yn gallu dangos eich cyfrif',
  caseHeading: 'Eich achos cymorth',
  caseRef: (r: string) => `Cyfeirnod eich achos cymorth yw ${ref(r)}.`,
  caseKeep: 'Cadwch ef: gallwch ei ddefnyddio i wirio eich achos. Nid oes angen i chi gysylltu â ni na’r darparwr hunaniaeth ar wahân.',
  quoteRef: (r: string) => `Os byddwch yn cysylltu â ni, rhowch y cyfeirnod ${ref(r)}.`,
  billInstead: 'Gallwch weld eich bil o hyd: mae angen gwiriad llai trylwyr o bwy ydych chi ar gyfer hynny.',
  startAgain: 'Dechrau eto',
  expiredTitle: 'Mae’r dudalen hon wedi dod i ben',
  expiredText: 'Er eich diogelwch, dim ond am 30 munud y caiff yr hyn a welsoch yma ei gadw, a dim ond yn y porwr y gwnaethoch fewngofnodi ag ef.',
  notFoundTitle: 'Heb ddod o hyd i’r dudalen',
  goToStart: 'Mynd i’r dudalen gychwyn',
  failure: {
    cancelled: 'Fe wnaethoch ddewis peidio â rhannu eich manylion, felly nid ydym wedi cael dim.',
    no_match: 'Cafodd pwy ydych chi ei wirio, ond nid oeddem yn gallu dod o hyd i’ch cyfrif treth gyngor o’r manylion hynny.',
    level_not_met: 'Nid oedd modd gwirio pwy ydych chi yn ddigon trylwyr i ddangos eich cyfrif ar-lein.',
    provider_failed: 'Cafodd y cwmni neu’r sefydliad sy’n gwirio pwy ydych chi broblem, ac nid oedd yn gallu gorffen.',
    fraud_flagged: 'Nid oeddem yn gallu cadarnhau pwy ydych chi ar-lein y tro hwn.',
    timed_out: 'Cymerodd mewngofnodi ormod o amser, felly cafodd ei stopio i gadw eich manylion yn ddiogel.',
    matching_failed: 'Nid oedd ein system yn gallu chwilio am eich cyfrif ar hyn o bryd.',
    no_provider: 'Fe wnaethoch ddweud wrthym na allwch ddefnyddio unrhyw un o’r ffyrdd o brofi pwy ydych chi ar-lein.',
    invalid_response: 'Aeth rhywbeth o’i le wrth eich mewngofnodi. Ni rannwyd dim.',
    state_mismatch: 'Nid oedd modd gorffen eich mewngofnodi yn y porwr hwn, neu fe gymerodd ormod o amser. Dechreuwch eto.',
    server_error: 'Nid yw’r gwasanaeth mewngofnodi yn gweithio ar hyn o bryd. Rhowch gynnig arall arni yn nes ymlaen.',
  },
};

export const TEXT: Record<Locale, Strings> = { en, cy };

/** A date (YYYY-MM-DD) in words, per locale: "14 March 1958", "14 Mawrth 1958". */
export function dateInWords(date: string | undefined, locale: Locale): string {
  if (!date || !/^\d{4}-\d{2}-\d{2}$/.test(date)) return date ?? '';
  return new Intl.DateTimeFormat(locale === 'cy' ? 'cy-GB' : 'en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(`${date}T00:00:00Z`));
}

/** Pence as pounds, per locale. */
export function money(pence: number, locale: Locale): string {
  return new Intl.NumberFormat(locale === 'cy' ? 'cy-GB' : 'en-GB', { style: 'currency', currency: 'GBP' }).format(pence / 100);
}
