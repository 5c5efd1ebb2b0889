/** Run the example service on its own: `npx tsx relying-party-sdk/examples/council-tax/main.ts` (PORT, HOST, BROKER_ISSUER, COOKIE_KEY, ALLOW_INSECURE_REQUESTS). */
import { startExampleService } from './app.js';

const service = await startExampleService({
  ...(process.env.HOST ? { host: process.env.HOST } : {}),
  ...(process.env.ALLOW_INSECURE_REQUESTS === 'true' ? { allowInsecureRequests: true } : {}),
});
console.log(`Example service (Pay your council tax) at ${service.url}`);
const stop = () => void service.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
