/** Run one broker instance from environment variables; stops gracefully on SIGTERM/SIGINT. */
import { configFromEnv, createBroker } from './index.js';

const config = configFromEnv();
const broker = await createBroker(config);
const url = await broker.listen();
broker.logger.info({ issuer: config.issuer, url, store: broker.store.kind, auditChain: broker.audit.chain }, 'broker listening');

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    broker.logger.info({ signal }, 'broker stopping');
    broker.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
