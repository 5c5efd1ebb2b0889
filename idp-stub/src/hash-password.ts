/**
 * Make a password hash for idp-stub/data/identities.yaml:
 *   npx tsx idp-stub/src/hash-password.ts 'the password'
 * (or pipe the password on standard input, to keep it out of the shell history).
 */
import { hashPassword } from './passwords.js';

async function main(): Promise<void> {
  let password = process.argv[2];
  if (password === undefined) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  if (!password) {
    process.stderr.write('usage: tsx idp-stub/src/hash-password.ts <password>\n');
    process.exit(2);
  }
  process.stdout.write(`${hashPassword(password)}\n`);
}

await main();
