/**
 * Run one broker instance from environment variables; stops gracefully on SIGTERM/SIGINT, and
 * reloads the policy folder on SIGHUP (it also watches it, unless POLICIES_WATCH=false).
 */
import { configFromEnv, createBroker } from './index.js';

const config = configFromEnv();
const broker = await createBroker(config);
const url = await broker.listen();
broker.logger.info({ issuer: config.issuer, url, store: broker.store.kind, auditChain: broker.audit.chain }, 'broker listening');

process.on('SIGHUP', () => void broker.policy.reload('SIGHUP'));

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
