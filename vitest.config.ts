import { defineConfig } from 'vitest/config';

// @idbroker/relying-party-sdk exports its src/*.ts under "@idbroker/source", ahead of the built
// dist/ it publishes: tests run from source with no build step. Vite adds these to its default
// conditions; Vitest also passes the SSR ones to its worker processes as --conditions.
const sourceConditions = ['@idbroker/source'];

export default defineConfig({
  resolve: { conditions: sourceConditions },
  ssr: { resolve: { conditions: sourceConditions } },
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    globalSetup: ['./test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores on CI: keep the number of files (each with its own servers) in flight small.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
