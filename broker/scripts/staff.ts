/**
 * Invite a support staff member: prints a single-use enrolment link (valid 24 hours) where
 * they register a passkey. Uses the broker's own settings (BROKER_ISSUER, BROKER_SECRET,
 * REDIS_URL / REDIS_CLUSTER_NODES / REDIS_SENTINELS, REDIS_KEY_PREFIX):
 *
 *   npm run staff -- invite --name "Alex Jones" --role agent|supervisor|auditor
 */
import { configFromEnv } from '../src/config/config.js';
import { createStore } from '../src/store/index.js';
import { createSealer, deriveKey } from '../src/crypto/seal.js';
import { Staff, ROLES, type Role } from '../src/support/staff.js';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};

async function main(): Promise<number> {
  const name = flag('name');
  const role = flag('role') as Role | undefined;
  if (args[0] !== 'invite' || !name || !role || !ROLES.includes(role)) {
    console.error(`usage: npm run staff -- invite --name "Full Name" --role ${ROLES.join('|')}`);
    return 2;
  }
  const config = configFromEnv();
  if (!config.redisUrl && !config.redisCluster && !config.redisSentinel) {
    console.error(
      'staff: the broker you want to invite to keeps its data in Redis; set REDIS_URL (and BROKER_SECRET and BROKER_ISSUER) as for the broker.\n' +
        'The in-memory store of `npm start` lives inside that process: start the local federation with REDIS_URL set to invite staff to it.',
    );
    return 2;
  }
  const store = createStore({
    ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}),
    ...(config.redisCluster ? { redisCluster: config.redisCluster } : {}),
    ...(config.redisSentinel ? { redisSentinel: config.redisSentinel } : {}),
    keyPrefix: config.keyPrefix,
  });
  try {
    const staff = new Staff({ store, sealer: createSealer(deriveKey(config.secret, 'support-cases')), issuer: config.issuer, now: Date.now });
    const { url } = await staff.invite(name, role);
    console.log(`Enrolment link for ${name} (${role}), single use, valid for 24 hours:\n${url}`);
    return 0;
  } catch (e) {
    console.error(`staff: ${(e as Error).message}`);
    return 1;
  } finally {
    await store.close();
  }
}

process.exitCode = await main();
