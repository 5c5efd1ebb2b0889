/** Run the example service on its own: `npx tsx relying-party-sdk/examples/council-tax/main.ts`. */
import { startExampleService } from './app.js';

const service = await startExampleService();
console.log(`Example service (Pay your council tax) at ${service.url}`);
