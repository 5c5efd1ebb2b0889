/**
 * A citizen answering the broker's presentation request with the wallet stub on the same device:
 * the broker's wallet page, the "open your wallet" link, the wallet's request page, share or
 * decline, and back to the broker through the wallet's redirect.
 */
import { getText } from './browser-client.js';
import type { Citizen, Landing } from './citizen.js';

export const WALLET_ID = 'digital-wallet';

const unescape = (s: string) => s.replaceAll('&amp;', '&').replaceAll('&#39;', "'").replaceAll('&quot;', '"');

/** Choose the wallet in the picker and land on the broker's wallet page. */
export async function chooseWallet(citizen: Citizen): Promise<{ sameDevice: URL; page: Landing }> {
  const page = await citizen.visit(await citizen.choose(WALLET_ID));
  const href = /id="open-wallet" href="([^"]+)"/.exec(citizen.html)?.[1];
  if (!href) throw new Error(`no wallet link on ${(page as { url?: string }).url}`);
  return { sameDevice: new URL(unescape(href)), page };
}

/** At the wallet stub: share as `person` (or decline); back at the broker. */
export async function answerInWallet(citizen: Citizen, walletUrl: URL, options: { person?: string; decision?: 'share' | 'decline'; onlyDisclose?: string } = {}): Promise<Landing> {
  const request = await citizen.browser.follow(walletUrl);
  const html = await getText(request.response);
  if (request.response.status !== 200) throw new Error(`the wallet refused the request (${request.response.status}): ${html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 300)}`);
  const answered = await citizen.browser.submitForm(html, request.url, { fields: { person: options.person ?? 'margaret', decision: options.decision ?? 'share', ...(options.onlyDisclose ? { disclose: options.onlyDisclose } : {}) } });
  const location = answered.headers.get('location');
  if (answered.status !== 303 || !location) throw new Error(`the wallet did not send the browser back (${answered.status}): ${(await getText(answered)).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 300)}`);
  return citizen.visit(new URL(location, request.url));
}

/** Choose the wallet and answer on this device. */
export async function presentWithWallet(citizen: Citizen, options: { person?: string; decision?: 'share' | 'decline' } = {}): Promise<Landing> {
  const { sameDevice } = await chooseWallet(citizen);
  return answerInWallet(citizen, sameDevice, options);
}
