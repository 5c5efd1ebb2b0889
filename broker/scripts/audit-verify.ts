/**
 * Checks the audit trail in Redis: every instance's hash chain, against the signed checkpoints
 * exported outside the store.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 [REDIS_KEY_PREFIX=idb:] \
 *   AUDIT_CHECKPOINT_FILE=/var/lib/audit/checkpoints.jsonl[,/copy/from/other/host.jsonl] \
 *   [AUDIT_CHECKPOINT_PUBLIC_KEYS_FILE=audit-keys.jwks.json] npm run audit:verify
 *   (or REDIS_CLUSTER_NODES / REDIS_SENTINELS + REDIS_SENTINEL_NAME, as the broker)
 *
 * The trusted keys: AUDIT_CHECKPOINT_PUBLIC_KEYS_FILE (a JWKS, a key set or one JWK; private
 * parts are ignored), else the keys of AUDIT_CHECKPOINT_KEYS_FILE, else the development key
 * (refused with NODE_ENV=production: anyone can sign with it).
 *
 * Prints `audit: OK, N events` (and what the checkpoints covered) and exits 0, or the first
 * problem and exits 1 (2 when it cannot check at all: no REDIS_URL, Redis unreachable, a file
 * missing).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { JWK } from 'jose';
import { defaultPoliciesDir } from '@idbroker/policies';
import { checkpointLines, publicJwk, verifyAudit } from '../src/audit/index.js';
import { isDevKey, readKeyFile } from '../src/config/config.js';
import { createStore, storeOptionsFromEnv } from '../src/store/index.js';

const devPublicKeyFile = resolve(defaultPoliciesDir, 'dev-keys/audit-checkpoint.public.jwk.json');

async function main(): Promise<number> {
  let options;
  let keys: JWK[];
  const lines: Array<{ text: string; source: string }> = [];
  try {
    options = storeOptionsFromEnv(process.env);
    const keyFile = process.env.AUDIT_CHECKPOINT_PUBLIC_KEYS_FILE || process.env.AUDIT_CHECKPOINT_KEYS_FILE || devPublicKeyFile;
    const keyVar = process.env.AUDIT_CHECKPOINT_PUBLIC_KEYS_FILE ? 'AUDIT_CHECKPOINT_PUBLIC_KEYS_FILE' : 'AUDIT_CHECKPOINT_KEYS_FILE';
    keys = readKeyFile(keyFile, keyVar, { keepRetired: true }).map((k) => publicJwk(k as JWK));
    if (process.env.NODE_ENV === 'production' && keys.some((k) => isDevKey(k as Record<string, unknown>))) {
      throw new Error(`${keyVar}: the development audit checkpoint key cannot be trusted in production (anyone can sign with it)`);
    }
    const files = (process.env.AUDIT_CHECKPOINT_FILE ?? '').split(',').map((f) => f.trim()).filter(Boolean);
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        throw new Error(`AUDIT_CHECKPOINT_FILE: cannot read ${file}: ${(error as Error).message}`);
      }
      lines.push(...checkpointLines(file, text));
    }
  } catch (error) {
    console.error(`audit: ${(error as Error).message}`);
    return 2;
  }
  if (!options.redisUrl && !options.redisCluster && !options.redisSentinel) {
    console.error('audit: set REDIS_URL (for example REDIS_URL=redis://127.0.0.1:6379), REDIS_CLUSTER_NODES or REDIS_SENTINELS to the broker\'s Redis');
    return 2;
  }
  const store = createStore(options);
  try {
    await store.ping();
    const report = await verifyAudit({ store, checkpoints: lines, trustedKeys: keys });
    if (report.ok) {
      if (lines.length === 0) {
        console.log(`audit: OK, ${report.count} events`);
        console.error('audit: warning: no checkpoint file given (AUDIT_CHECKPOINT_FILE): only the hash chains were checked, and someone with write access to the store can rebuild those');
      } else {
        console.log(`audit: OK, ${report.count} events in ${report.chains} chain${report.chains === 1 ? '' : 's'}, against ${report.checkpoints} signed checkpoint${report.checkpoints === 1 ? '' : 's'} (${report.uncovered} newer events not yet covered by one)`);
      }
      return 0;
    }
    const where = report.chain !== undefined ? ` at event ${report.brokenAt} of chain ${report.chain}` : '';
    console.log(`audit: BROKEN (${report.problem})${where}: ${report.reason} (${report.count} events verified before it)`);
    return 1;
  } catch (error) {
    console.error(`audit: could not check the trail: ${(error as Error).message}`);
    return 2;
  } finally {
    await store.close();
  }
}

process.exitCode = await main();
