/**
 * `npm start`: the local federation of docs (DESIGN.md, "The local federation") in one
 * process: the broker, one IdP stub per IdP policy, and the example service. No Docker,
 * no Redis (the in-memory store) unless REDIS_URL is set. Ports come from the environment.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defaultPoliciesDir, loadPolicies } from '@idbroker/policies';
import { configFromEnv, createBroker } from '@idbroker/broker';
import { startIdpStub, type IdpStub } from '@idbroker/idp-stub';
import { startWalletStub, type WalletStub } from '@idbroker/wallet-stub';
import { startExampleService } from '../relying-party-sdk/examples/council-tax/app.js';
import { localFederationLayout, localFederationPolicies, resolveLocalhostNames } from './local-federation.js';

// Every part has a cookie host of its own (see local-federation.ts): the broker at localhost,
// each IdP stub at <id>.localhost, the example service at council-tax.localhost.
resolveLocalhostNames();

const env = process.env;
const policiesDir = env.POLICIES_DIR ?? defaultPoliciesDir;
const loaded = loadPolicies(policiesDir);
// The policies follow the ports chosen (BROKER_PORT, SERVICE_PORT, CIVIC_ID_PORT, ...): the
// IdPs' issuers and the example service's redirect URI and matching URL.
const layout = localFederationLayout(loaded, env);
const policies = localFederationPolicies(loaded, layout);
const { brokerPort, servicePort } = layout;
const issuer = layout.brokerIssuer;
const brokerClientJwks = { keys: [JSON.parse(readFileSync(resolve(defaultPoliciesDir, 'dev-keys/broker-idp-client.public.jwk.json'), 'utf8'))] };

const stubs: IdpStub[] = [];
const overrides: Record<string, string> = {};
for (const policy of policies.identityProviders) {
  const stubIssuer = policy.issuer;
  stubs.push(
    await startIdpStub({
      policy,
      levels: policies.levels,
      port: Number(new URL(stubIssuer).port),
      issuer: stubIssuer,
      broker: { clientId: policy.broker_client.client_id, jwks: brokerClientJwks as never, redirectUris: [`${issuer}/idp/${policy.id}/callback`] },
      ...(env.IDP_STUB_ADMIN_TOKEN ? { adminToken: env.IDP_STUB_ADMIN_TOKEN } : {}),
    }),
  );
  overrides[policy.id] = stubIssuer;
}

// One wallet stub per wallet policy, where its policy says (docs/wallets.md). A port already in
// use leaves the federation without that wallet rather than stopping it.
const wallets: Array<{ name: string; stub: WalletStub }> = [];
for (const policy of policies.walletProviders) {
  const at = new URL(policy.wallet.authorization_endpoint);
  try {
    wallets.push({ name: policy.display_name, stub: await startWalletStub({ port: Number(at.port), host: env.HOST ?? 'localhost', baseUrl: at.origin }) });
  } catch (e) {
    console.warn(`wallet stub for ${policy.id} not started: ${(e as Error).message}`);
  }
}

const config = configFromEnv({ ...env, BROKER_ISSUER: issuer, PORT: String(brokerPort) });
// The broker follows changes to the policy folder (npm run onboard), moved to these ports like the first load.
const broker = await createBroker(
  { ...config, idpIssuerOverrides: overrides, host: env.HOST ?? '127.0.0.1' },
  { policies, loadPolicies: () => localFederationPolicies(loadPolicies(policiesDir), layout) },
);
process.on('SIGHUP', () => void broker.policy.reload('SIGHUP'));
await broker.listen(brokerPort);

const service = await startExampleService({ port: servicePort, host: '127.0.0.1', baseUrl: layout.serviceOrigin, brokerIssuer: issuer, allowInsecureRequests: true });

const line = '-'.repeat(72);
console.log(`\n${line}\nThe local identity federation is running (store: ${broker.store.kind})\n${line}`);
console.log(`  Broker (issuer)        ${issuer}`);
console.log(`    discovery            ${issuer}/.well-known/openid-configuration`);
for (const [i, stub] of stubs.entries()) {
  const p = policies.identityProviders[i]!;
  console.log(`  IdP ${p.display_name.padEnd(19)}${p.issuer}   (${p.organisation_type}, up to ${p.certified.authentication}.${p.certified.confidence})`);
}
for (const { name, stub } of wallets) console.log(`  Wallet stub            ${stub.url}   (${name}: OpenID4VP, SD-JWT VC PIDs)`);
console.log(`  Example service        ${service.url}   <- start here`);
console.log(`\n  Demo identities (password for all: demo-password):`);
console.log(`    margaret  matches the council's records`);
console.log(`    dylan     matches only after giving his National Insurance number QQ 12 34 56 C`);
console.log(`    priya     is not in the council's records`);
console.log(`    sam       has no documents or credit history: reaches P1 only`);
console.log(`  A second sign-in step shows its one-time code on the page (demo only).`);
// Support staff: with the in-memory store no other process can reach this federation's data,
// so a one-time enrolment link for a demo supervisor is printed here (with REDIS_URL set,
// \`npm run staff -- invite --name ... --role ...\` works from another terminal too).
const invite = await broker.support.staff.invite('Demo Supervisor', 'supervisor');
console.log(`\n  Support console          ${issuer}/support/staff`);
console.log(`    enrol a passkey (demo supervisor, single use, 24 h): ${invite.url}`);
console.log(`  Check a support case     ${issuer}/support/case`);
console.log(`  Performance per IdP      ${issuer}/performance\n${line}\n`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    Promise.allSettled([broker.close(), service.close(), ...stubs.map((s) => s.close()), ...wallets.map((w) => w.stub.close())]).then(() => process.exit(0));
  });
}
