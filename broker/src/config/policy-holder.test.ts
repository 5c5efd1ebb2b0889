/**
 * The holder of the policy in force: a new set is used only when it loads whole; what is read at
 * start only (levels.yaml, broker.yaml) is refused, named; the view follows every accepted set.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { testPolicies, type TestPolicies } from '../../../test/support/policies.js';
import { createPolicyHolder } from './policy-holder.js';

let files: TestPolicies | undefined;
afterEach(() => files?.remove());

function setup() {
  files = testPolicies();
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c)) as Record<string, unknown>), cb()) }));
  const holder = createPolicyHolder({ initial: files.load(), load: () => files!.load(), logger });
  return { files, holder, lines };
}

describe('the policy holder', () => {
  it('applies a valid change to the view every part holds, and counts it', () => {
    const { files, holder } = setup();
    const view = holder.policies;
    expect(view.identityProvider('civic-id')!.status).toBe('enabled');
    files.changeIdp('civic-id', { status: 'suspended' });
    const result = holder.reload('test');
    expect(result).toMatchObject({ applied: true, version: 2, changes: { providers: { changed: ['civic-id'], added: [], removed: [] } } });
    expect(view.identityProvider('civic-id')!.status).toBe('suspended');
    expect(view.identityProviders.find((p) => p.id === 'civic-id')!.status).toBe('suspended');
    // Nothing changed: taken, not counted.
    expect(holder.reload('test')).toMatchObject({ applied: true, version: 2 });
  });

  it('refuses a set that does not load, naming file and field; the set in force stays', () => {
    const { files, holder, lines } = setup();
    files.changeIdp('civic-id', { status: 'paused' });
    const result = holder.reload('test');
    expect(result).toMatchObject({ applied: false, version: 1, issues: [{ file: 'identity-providers/civic-id.yaml', field: 'status' }] });
    expect(holder.policies.identityProvider('civic-id')!.status).toBe('enabled');
    const line = lines.find((l) => String(l.msg).startsWith('policy change refused'))!;
    expect(line).toMatchObject({ level: 50, trigger: 'test' });
    expect(String(line.msg)).toContain('identity-providers/civic-id.yaml (status): must be one of: enabled, suspended');
  });

  it('refuses a change to levels.yaml or broker.yaml (read at start only), with everything else of that change', () => {
    const { files, holder } = setup();
    const levels = join(files.dir, 'levels.yaml');
    writeFileSync(levels, readFileSync(levels, 'utf8').replace(/name: Low\b/, 'name: Lowish'));
    files.changeIdp('civic-id', { status: 'suspended' });
    const result = holder.reload('test');
    expect(result).toMatchObject({ applied: false, issues: [{ file: 'levels.yaml', message: expect.stringContaining('restart') }] });
    expect(holder.policies.identityProvider('civic-id')!.status).toBe('enabled');
  });

  it('refuses what the extra check refuses (production safety) and a broker given fixed policies', () => {
    files = testPolicies();
    const fixed = createPolicyHolder({ initial: files.load() });
    expect(fixed.reload('test')).toMatchObject({ applied: false, issues: [{ message: expect.stringContaining('fixed policies') }] });
    const checked = createPolicyHolder({ initial: files.load(), load: () => files!.load(), check: () => { throw new Error('Refusing in production: X'); } });
    expect(checked.reload('test')).toMatchObject({ applied: false, issues: [{ message: 'Refusing in production: X' }] });
  });
});
