#!/usr/bin/env node
/**
 * `npx idbroker-rp init` (or `create-keys`): everything a service needs before its first sign-in.
 * Writes the service's ES256 key pair (private key readable by you only) and a draft policy entry
 * for the federation's operator (`policies/relying-parties/<client-id>.yaml`, with your public key
 * inline). Never overwrites an existing file.
 *
 *   npx idbroker-rp init --client-id my-service --redirect-uri https://my-service.example/callback \
 *     [--name "Apply for a permit"] [--organisation "Example Council"] [--matching-url https://my-service.example/matching] \
 *     [--attributes given_name,family_name,birthdate,address] [--level Cl.Cm.P2] [--dir .]
 */
import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { parseVector } from './vectors.js';

const USAGE = `Usage: idbroker-rp init --client-id ID --redirect-uri URL [options]   (create-keys is the same)

Writes, in --dir (default: the current folder):
  <client-id>.private.jwk.json   your private ES256 key (mode 600): give it to createBrokerClient
                                 and createMatchingHandler as privateKey; never share it
  <client-id>.public.jwk.json    your public key
  <client-id>.policy.yaml        a draft policy entry for the federation's operator
                                 (policies/relying-parties/), your public key inline

Options:
  --client-id ID           your client id at the broker (letters, digits, . _ -)       required
  --redirect-uri URL       your callback URL (https; http only for *.localhost)         required
  --name TEXT              your service's name, as citizens see it at consent
  --organisation TEXT      who runs the service
  --matching-url URL       where the broker sends matching requests (leave out to match people yourself)
  --attributes LIST        verified attributes you need, comma-separated
                           (default given_name,family_name,birthdate,address)
  --level VECTOR           the level you usually ask for (default Cl.Cm.P2)
  --dir PATH               where to write (default .)
`;

const ATTRIBUTES = ['given_name', 'family_name', 'birthdate', 'address', 'email', 'phone_number'];

/** Run the command; returns the exit code (0 done, 1 refused, 2 usage). */
export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s), err: (s: string) => void = (s) => process.stderr.write(s)): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    out(USAGE);
    return command ? 0 : 2;
  }
  if (command !== 'init' && command !== 'create-keys') {
    err(`unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args: rest,
      options: {
        'client-id': { type: 'string' },
        'redirect-uri': { type: 'string' },
        name: { type: 'string' },
        organisation: { type: 'string' },
        'matching-url': { type: 'string' },
        attributes: { type: 'string' },
        level: { type: 'string' },
        dir: { type: 'string' },
      },
      strict: true,
    }).values as Record<string, string | undefined>;
  } catch (e) {
    err(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const problems: string[] = [];
  const clientId = values['client-id'] ?? '';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{1,127}$/.test(clientId)) problems.push('--client-id is required: 2-128 letters, digits, dot, underscore or hyphen');
  const urlProblem = (flag: string, value: string | undefined, required: boolean) => {
    if (value === undefined) return required ? `${flag} is required` : undefined;
    let u: URL;
    try {
      u = new URL(value);
    } catch {
      return `${flag} is not a URL: ${value}`;
    }
    const local = u.hostname === 'localhost' || u.hostname.endsWith('.localhost') || u.hostname === '127.0.0.1';
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && local)) return `${flag} must be https (http only for localhost): ${value}`;
    if (u.hash) return `${flag} must not have a #fragment`;
    return undefined;
  };
  for (const p of [urlProblem('--redirect-uri', values['redirect-uri'], true), urlProblem('--matching-url', values['matching-url'], false)]) if (p) problems.push(p);
  const attributes = (values.attributes ?? 'given_name,family_name,birthdate,address').split(',').map((a) => a.trim()).filter(Boolean);
  const unknown = attributes.filter((a) => !ATTRIBUTES.includes(a));
  if (unknown.length || attributes.length === 0) problems.push(`--attributes must be some of ${ATTRIBUTES.join(', ')} (not ${unknown.join(', ') || 'none'})`);
  const level = values.level ?? 'Cl.Cm.P2';
  if (!parseVector(level)) problems.push(`--level is not a level vector like Cl.Cm.P2: ${level}`);
  const dir = resolve(values.dir ?? '.');
  const files = { private: join(dir, `${clientId}.private.jwk.json`), public: join(dir, `${clientId}.public.jwk.json`), policy: join(dir, `${clientId}.policy.yaml`) };
  if (problems.length === 0) for (const f of Object.values(files)) if (existsSync(f)) problems.push(`${f} already exists: not overwritten (move it away, or choose --dir)`);
  if (problems.length) {
    err(`${problems.map((p) => `error: ${p}`).join('\n')}\n\nRun "idbroker-rp --help" for the options.\n`);
    return 1;
  }

  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const pub = { ...publicJwk, kid, alg: 'ES256', use: 'sig' };
  const priv = { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
  const expires = new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10);
  const q = (s: string) => JSON.stringify(s); // a JSON string is a valid YAML scalar
  const name = values.name ?? clientId;
  const policy = [
    `# Draft policy entry for ${name}, written by idbroker-rp init on ${new Date().toISOString().slice(0, 10)}.`,
    '# Send it to the federation\'s operator: it goes in policies/relying-parties/<client-id>.yaml,',
    '# after they check every field (levels, attributes, sector, other ways).',
    `client_id: ${q(clientId)}`,
    `display_name: ${q(name)}`,
    `organisation: ${q(values.organisation ?? name)}`,
    'redirect_uris:',
    `  - ${q(values['redirect-uri']!)}`,
    'token_endpoint_auth_method: private_key_jwt',
    `jwks: ${JSON.stringify({ keys: [pub] })}`,
    `keys_expire: ${expires}`,
    'permitted_attributes:',
    ...attributes.map((a) => `  - ${a}`),
    `minimum_level: ${level}`,
    `default_level: ${level}`,
    `sector_identifier: ${q(`urn:idbroker:sector:${clientId}`)}`,
    ...(values['matching-url'] ? ['matching:', `  url: ${q(values['matching-url'])}`, '  timeout_ms: 5000', '  account_creation: false'] : []),
    'other_ways:',
    `  - text: ${q('TODO: how people who cannot prove their identity online can use this service (phone, in person, post).')}`,
    '',
  ].join('\n');

  mkdirSync(dir, { recursive: true });
  writeFileSync(files.private, `${JSON.stringify(priv, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  writeFileSync(files.public, `${JSON.stringify(pub, null, 2)}\n`, { flag: 'wx' });
  writeFileSync(files.policy, policy, { flag: 'wx' });
  out(
    [
      `Wrote, for ${clientId} (key id ${kid}):`,
      `  ${files.private}   private key: keep it secret (privateKey in createBrokerClient and createMatchingHandler)`,
      `  ${files.public}    public key`,
      `  ${files.policy}      draft policy entry: send it to the federation's operator`,
      '',
    ].join('\n'),
  );
  return 0;
}

// Run when executed (`npx idbroker-rp ...`), not when imported.
const real = (p: string) => {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
};
if (process.argv[1] && real(resolve(process.argv[1])) === real(fileURLToPath(import.meta.url))) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`error: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
