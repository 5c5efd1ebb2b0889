/**
 * Signing keys for the broker, rotated without downtime (docs/operations.md, "Rotating keys").
 *
 *   npm run keys -- init   --file /secrets/broker-signing-keys.json
 *   npm run keys -- rotate --file /secrets/broker-signing-keys.json
 *   npm run keys -- show   --file /secrets/broker-signing-keys.json
 *
 * Point every broker at the file with BROKER_SIGNING_KEYS_FILE and restart them one by one
 * after each rotation. Rotate no more often than the retirement period (1 hour).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { initialKeySet, isKeySet, keysOf, rotateKeySet } from '../src/config/keys.js';

const [command, ...rest] = process.argv.slice(2);
const file = rest[rest.indexOf('--file') + 1];
if (!command || !['init', 'rotate', 'show'].includes(command) || rest.indexOf('--file') < 0 || !file) {
  console.error('usage: npm run keys -- <init|rotate|show> --file <path>');
  process.exit(2);
}
const publicOf = (k: Record<string, unknown>) => `${String(k.kid)} (${String(k.alg ?? 'ES256')})`;

if (command === 'init') {
  if (existsSync(file)) {
    console.error(`${file} exists: refusing to overwrite keys. Use rotate.`);
    process.exit(1);
  }
  const set = await initialKeySet();
  writeFileSync(file, `${JSON.stringify(set, null, 2)}\n`, { mode: 0o600 });
  console.log(`created ${file}: current ${publicOf(set.current)}, next ${publicOf(set.next!)}`);
} else {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  if (!isKeySet(parsed)) {
    console.error(`${file}: not a key set ({ current, next, previous })`);
    process.exit(1);
  }
  if (command === 'show') {
    console.log(`published (in order): ${keysOf(parsed).map(publicOf).join(', ')}`);
  } else {
    const rotated = await rotateKeySet(parsed);
    writeFileSync(file, `${JSON.stringify(rotated, null, 2)}\n`, { mode: 0o600 });
    console.log(`rotated ${file}: current ${publicOf(rotated.current)}, next ${publicOf(rotated.next!)}, kept until retirement: ${(rotated.previous ?? []).map((p) => `${publicOf(p.key)} until ${p.retire_after}`).join(', ')}`);
    console.log('Restart each broker instance now, one at a time.');
  }
}
