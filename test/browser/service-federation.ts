/**
 * The browser suite's usual set-up: a federation whose example service (the real one, from
 * relying-party-sdk/examples) runs on a free port with its redirect URI and matching URL there,
 * and Chromium. Everything it starts, `close()` stops.
 */
import type { Browser } from 'playwright-core';
import { startExampleService } from '../../relying-party-sdk/examples/council-tax/app.js';
import { startFederation, type Federation, type FederationOptions } from '../support/federation.js';
import { freePort } from '../support/ports.js';
import { launchChromium } from './chromium.js';

export interface ServiceFederation {
  fed: Federation;
  /** The example service's base URL. */
  base: string;
  browser: Browser;
  close(): Promise<void>;
}

export async function startServiceFederation(options: Omit<FederationOptions, 'matchingUrl'> = {}): Promise<ServiceFederation> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const fed = await startFederation({
    ...options,
    matchingUrl: `${base}/matching`,
    policyChanges: { ...options.policyChanges, rps: { ...options.policyChanges?.rps, 'example-council-tax': { redirect_uris: [`${base}/callback`], ...options.policyChanges?.rps?.['example-council-tax'] } } },
  });
  const service = await startExampleService({ port, host: '127.0.0.1', brokerIssuer: fed.issuer, baseUrl: base });
  const browser = await launchChromium();
  return {
    fed,
    base,
    browser,
    async close() {
      await browser.close();
      await service.close();
      await fed.close();
    },
  };
}
