/**
 * `npm run onboard -- ...`: change the policy folder of a running federation (policies/README.md,
 * "Onboarding"). Every broker watching the folder applies a valid change within a second; a
 * broker started with POLICIES_WATCH=false applies it on SIGHUP.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultPoliciesDir } from './loader.js';
import { addProvider, addService, changeProvider, OnboardError, type OnboardResult } from './onboard.js';

const USAGE = `Usage:
  npm run onboard -- service <policy.yaml> [--other-way TEXT]... [--name TEXT] [--organisation TEXT]
                                           [--sector URN] [--welsh-name TEXT] [--welsh-organisation TEXT]
                                           [--welsh-other-way TEXT]... [--replace]
      Add a service from its policy entry (the <client-id>.policy.yaml that "idbroker-rp init"
      wrote), as policies/relying-parties/<client-id>.yaml. The flags replace the entry's fields:
      --other-way (once per way) what people who cannot prove their identity online can do instead;
      the --welsh-* flags give the same texts in Welsh (cy:), one Welsh way per way.
  npm run onboard -- idp add <provider.yaml> [--replace]
      Add an identity provider (or wallet provider) as policies/identity-providers/<id>.yaml.
  npm run onboard -- idp suspend <id>      Stop offering a provider (status: suspended).
  npm run onboard -- idp resume <id>       Offer it again (status: enabled).
  npm run onboard -- idp withdraw <id> [--on YYYY-MM-DD]
      Record its certificate withdrawn from the register (certification.register.status; IdPs and wallets).

Common options:
  --policies DIR   the policy folder (default: $POLICIES_DIR, else the repository's policies/)

Nothing is written unless the whole folder, with the change, passes the brokers' own checks;
a service or provider that exists already is not replaced without --replace.
`;

export function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s), err: (s: string) => void = (s) => process.stderr.write(s)): number {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    err(`error: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    (values.help ? out : err)(USAGE);
    return values.help ? 0 : 2;
  }
  // npm runs scripts from the repository's root: paths typed are relative to where they were typed.
  const here = process.env.INIT_CWD ?? process.cwd();
  const dir = values.policies ? resolve(here, values.policies) : (process.env.POLICIES_DIR ?? defaultPoliciesDir);
  const options = { dir, replace: values.replace ?? false, ...(values.on ? { today: values.on } : {}) };
  const [what, ...rest] = positionals;
  let result: OnboardResult;
  try {
    if (what === 'service' && rest.length === 1) {
      result = addService(
        resolve(here, rest[0]!),
        {
          ...(values.name !== undefined ? { display_name: values.name } : {}),
          ...(values.organisation !== undefined ? { organisation: values.organisation } : {}),
          ...(values.sector !== undefined ? { sector_identifier: values.sector } : {}),
          ...(values['other-way'] ? { other_ways: values['other-way'] } : {}),
          ...(values['welsh-name'] || values['welsh-organisation'] || values['welsh-other-way']
            ? { cy: { display_name: values['welsh-name'], organisation: values['welsh-organisation'], other_ways: values['welsh-other-way'] } }
            : {}),
        },
        options,
      );
    } else if (what === 'idp' && rest[0] === 'add' && rest.length === 2) {
      result = addProvider(resolve(here, rest[1]!), options);
    } else if (what === 'idp' && (rest[0] === 'suspend' || rest[0] === 'resume' || rest[0] === 'withdraw') && rest.length === 2) {
      if (values.on !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(values.on)) {
        err('error: --on must be a date written YYYY-MM-DD\n');
        return 2;
      }
      result = changeProvider(rest[1]!, rest[0], options);
    } else {
      err(`error: unknown command "${positionals.join(' ')}"\n\n${USAGE}`);
      return 2;
    }
  } catch (e) {
    if (e instanceof OnboardError) {
      err(`Refused: nothing was written.\n${e.issues.map((i) => `  ${i.file}${i.field ? ` (${i.field})` : ''}: ${i.message}`).join('\n')}\n`);
      return 1;
    }
    throw e;
  }
  out(`${result.message}\n`);
  for (const w of result.warnings) out(`warning: ${w}\n`);
  if (result.written) out(`Brokers watching ${dir} apply it now; any other broker: kill -HUP <its pid> (or restart it).\n`);
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      'other-way': { type: 'string', multiple: true },
      'welsh-name': { type: 'string' },
      'welsh-organisation': { type: 'string' },
      'welsh-other-way': { type: 'string', multiple: true },
      name: { type: 'string' },
      organisation: { type: 'string' },
      sector: { type: 'string' },
      replace: { type: 'boolean' },
      on: { type: 'string' },
      policies: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('onboard-cli.ts')) {
  process.exitCode = main(process.argv.slice(2));
}
