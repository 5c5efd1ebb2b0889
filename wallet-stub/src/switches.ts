/** Failure switches: make the wallet stub misbehave on purpose (tests and demos). */

/**
 * none: behave. revoked: present a credential whose Token Status List entry says revoked.
 * expired: present a credential past its exp. wrong-nonce: sign the key binding JWT over another
 * nonce. tampered: change a disclosed claim's value after issuance. replay: send the last
 * presentation again (made for an earlier request).
 */
export type WalletFailMode = 'none' | 'revoked' | 'expired' | 'wrong-nonce' | 'tampered' | 'replay';
export const walletFailModes: readonly WalletFailMode[] = ['none', 'revoked', 'expired', 'wrong-nonce', 'tampered', 'replay'];

export interface WalletSwitches {
  fail: WalletFailMode;
}

export function parseWalletSwitches(input: { fail?: unknown }, base: WalletSwitches): WalletSwitches {
  const out = { ...base };
  if (input.fail !== undefined) {
    const fail = input.fail === '' || input.fail === null ? 'none' : input.fail;
    if (typeof fail !== 'string' || !walletFailModes.includes(fail as WalletFailMode)) throw new Error(`fail must be one of ${walletFailModes.join(', ')}`);
    out.fail = fail as WalletFailMode;
  }
  return out;
}

/** Switches from WALLET_STUB_FAIL. */
export function walletSwitchesFromEnv(env: Record<string, string | undefined> = process.env): WalletSwitches {
  return parseWalletSwitches({ fail: env.WALLET_STUB_FAIL }, { fail: 'none' });
}
