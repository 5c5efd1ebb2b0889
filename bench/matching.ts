/**
 * The benchmark's matching process: the example council tax service's matching endpoint (the
 * SDK's `createMatchingHandler` with the example service key and records), alone on loopback.
 * Environment: PORT (required), BROKER_ISSUER (required).
 */
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { JWK } from 'jose';
import { defaultPoliciesDir } from '@idbroker/policies';
import { createMatchingHandler } from '@idbroker/relying-party-sdk';
import { loadRecords, matchAccount } from '../relying-party-sdk/examples/council-tax/records.js';

const port = Number(process.env.PORT);
const brokerIssuer = process.env.BROKER_ISSUER;
if (!port || !brokerIssuer) throw new Error('bench/matching.ts needs PORT and BROKER_ISSUER');

const privateKey = JSON.parse(readFileSync(resolve(defaultPoliciesDir, 'dev-keys/example-service.private.jwk.json'), 'utf8')) as JWK;
const records = loadRecords();
const handler = createMatchingHandler({ brokerIssuer, clientId: 'example-council-tax', privateKey, match: (who) => matchAccount(records, who) });

const server = createServer((req, res) => {
  if (req.url !== '/matching') {
    res.statusCode = 404;
    res.end();
    return;
  }
  void handler.node(req, res);
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`matching listening on ${port}\n`));
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2_000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
