/** `npm start -w wallet-stub`: one wallet stub (PORT, default 3110; HOST; BASE_URL; WALLET_STUB_FAIL; ADMIN_TOKEN). */
import { startWalletStub } from './server.js';
import { walletSwitchesFromEnv } from './switches.js';

const port = Number(process.env.PORT ?? 3110);
const stub = await startWalletStub({
  port,
  host: process.env.HOST ?? '127.0.0.1',
  ...(process.env.BASE_URL ? { baseUrl: process.env.BASE_URL } : {}),
  ...(process.env.ADMIN_TOKEN ? { adminToken: process.env.ADMIN_TOKEN } : {}),
  switches: walletSwitchesFromEnv(),
});
console.log(`wallet stub at ${stub.url} (authorization endpoint ${stub.authorizationEndpoint}, PID issuer ${stub.issuer})`);
const stop = () => void stub.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
