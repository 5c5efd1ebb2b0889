/** `npm run policies:check [folder]`: prints OK or every error, exits non-zero on error. */
import { formatIssue, loadPolicies, PolicyError } from './loader.js';

const dir = process.argv[2];
try {
  const policies = loadPolicies(dir);
  for (const w of policies.warnings) console.warn(`warning:${formatIssue(w)}`);
  if (policies.missingWelsh.length > 0) {
    // The broker starts without them (showing English), but every text a citizen reads needs Welsh.
    console.error(`The policies are not complete: text a citizen reads has no Welsh (cy):\n${policies.missingWelsh.map(formatIssue).join('\n')}`);
    process.exit(1);
  }
  console.log(
    `OK: ${policies.dir}: ${policies.identityProviders.length} identity providers, ${policies.relyingParties.length} services, ${policies.levels.allVectors().length} levels, ${policies.walletProviders.length} wallet providers`,
  );
} catch (e) {
  if (e instanceof PolicyError) {
    console.error(e.message);
    process.exit(1);
  }
  throw e;
}
