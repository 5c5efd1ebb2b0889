/**
 * The policy in force, held in one place so that a running broker can take a new one without a
 * restart (docs/operations.md, "Changing policy on a running federation").
 *
 * Every part of the broker is given `holder.policies`: a view that reads the policy set in force
 * at each call, so a new set applies to the next request of every part at once. A new set is
 * loaded and validated whole (the same loader as at start) before it is used; a set that does
 * not load is refused, every problem named (file and field) in the log, and the set in force
 * stays. What is read only at start (levels.yaml: the acr values and vectors the OpenID Provider
 * publishes; broker.yaml: journey, case and audit lifetimes) cannot change this way: a changed
 * levels.yaml or broker.yaml is refused, named, until the brokers restart.
 *
 * Reloads come from a watch on the policy folder (debounced: an editor's or `npm run onboard`'s
 * several writes make one reload) and from `reload()` (main.ts calls it on SIGHUP). Loading is
 * synchronous, so two reloads never interleave and a request sees one set or the next, whole.
 * A journey already under way keeps its state; it meets the new set at its next step (a service
 * or provider removed or suspended meanwhile is treated as such then).
 */
import { watch, type FSWatcher } from 'node:fs';
import { formatIssue, PolicyError, type Policies, type PolicyIssue } from '@idbroker/policies';
import type { Logger } from 'pino';

export interface PolicyChanges {
  services: { added: string[]; removed: string[]; changed: string[] };
  providers: { added: string[]; removed: string[]; changed: string[] };
}

export type ReloadResult =
  | { applied: true; version: number; changes: PolicyChanges }
  | { applied: false; version: number; issues: PolicyIssue[] };

export interface PolicyHolder {
  /** The policy in force, read afresh at every use: give this to every part of the broker. */
  readonly policies: Policies;
  /** The set in force now (a snapshot: it does not follow later changes). */
  current(): Policies;
  /** 1 at start, +1 at every accepted change to a service or provider. */
  readonly version: number;
  /** Whether the set can be reloaded (false when the broker was given fixed policies). */
  readonly reloadable: boolean;
  /** Load and validate the policy folder again; use it when it is valid. `trigger` goes in the log. */
  reload(trigger: string): ReloadResult;
  /** Watch the policy folder and reload after changes (`debounceMs` after the last one). */
  watch(options?: { debounceMs?: number }): void;
  close(): void;
}

export interface PolicyHolderOptions {
  initial: Policies;
  /** Load the whole set again (throws PolicyError when it is not valid). Unset: not reloadable. */
  load?: () => Policies;
  /** Further checks a new set must pass (e.g. production safety); throw to refuse it. */
  check?: (policies: Policies) => void;
  logger?: Logger;
}

export function createPolicyHolder(options: PolicyHolderOptions): PolicyHolder {
  let current = options.initial;
  let version = 1;
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  const log = options.logger?.child({ component: 'policy' });

  const reload = (trigger: string): ReloadResult => {
    if (!options.load) {
      const issues = [{ file: '', field: '', message: 'this broker was started with fixed policies: they cannot be reloaded' }];
      log?.warn({ trigger, issues }, 'policy change refused: the policy in force is unchanged');
      return { applied: false, version, issues };
    }
    let next: Policies;
    let issues: PolicyIssue[] = [];
    try {
      next = options.load();
      issues = startOnly(current, next);
      if (issues.length === 0) options.check?.(next);
    } catch (e) {
      issues = e instanceof PolicyError ? e.issues : [{ file: '', field: '', message: (e as Error).message }];
    }
    if (issues.length > 0) {
      log?.error(
        { trigger, version, issues, detail: issues.map(formatIssue).join('\n') },
        `policy change refused: the policy in force (version ${version}) is unchanged. ${issues.map((i) => `${i.file}${i.field ? ` (${i.field})` : ''}: ${i.message}`).join('; ')}`,
      );
      return { applied: false, version, issues };
    }
    const changes = compare(current, next!);
    // Taken even when no service or provider changed (a key file may have), counted only when one did.
    current = next!;
    if (![...Object.values(changes.services), ...Object.values(changes.providers)].some((l) => l.length > 0)) {
      log?.debug({ trigger, version }, 'policy folder changed: no service or provider changed');
      return { applied: true, version, changes };
    }
    version++;
    for (const w of current.warnings) log?.warn({ file: w.file, field: w.field }, w.message);
    log?.info({ trigger, version, ...changes }, `policy version ${version} in force`);
    return { applied: true, version, changes };
  };

  const policies = liveView(() => current);

  return {
    policies,
    current: () => current,
    get version() {
      return version;
    },
    reloadable: options.load !== undefined,
    reload,
    watch({ debounceMs = 250 } = {}) {
      if (watcher || !options.load) return;
      const dir = current.dir;
      try {
        watcher = watch(dir, { recursive: true, persistent: false }, (_event, name) => {
          if (name && IGNORED.test(String(name))) return;
          if (timer) clearTimeout(timer);
          timer = setTimeout(() => {
            timer = undefined;
            reload(`change in ${dir}`);
          }, debounceMs);
          timer.unref();
        });
        watcher.on('error', (e) => {
          log?.error({ dir, err: { message: e.message } }, 'policy folder watch failed: changes need SIGHUP (or a restart) now');
          watcher?.close();
          watcher = undefined;
        });
        log?.info({ dir }, 'watching the policy folder: changes apply without a restart');
      } catch (e) {
        log?.warn({ dir, err: { message: (e as Error).message } }, 'cannot watch the policy folder: send SIGHUP to reload it');
      }
    },
    close() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      watcher?.close();
      watcher = undefined;
    },
  };
}

/** Files in the policy folder whose changes are not policy: sources, tests, editors' scratch files. */
const IGNORED = /(^|[\\/])(src|test|node_modules|\.git)([\\/]|$)|(~|\.swp|\.swx|\.tmp)$|(^|[\\/])\.#/;

/** What cannot change without a restart, named. */
function startOnly(running: Policies, next: Policies): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  if (JSON.stringify(running.levels) !== JSON.stringify(next.levels))
    issues.push({ file: 'levels.yaml', field: '', message: 'changed: the levels are read at start only (restart every broker to apply them); nothing of this change was applied' });
  if (JSON.stringify(running.broker) !== JSON.stringify(next.broker))
    issues.push({ file: 'broker.yaml', field: '', message: 'changed: broker.yaml is read at start only (restart every broker to apply it); nothing of this change was applied' });
  return issues;
}

function compare(before: Policies, after: Policies): PolicyChanges {
  const diff = <T>(a: readonly T[], b: readonly T[], key: (t: T) => string) => {
    const was = new Map(a.map((t) => [key(t), JSON.stringify(t)]));
    const now = new Map(b.map((t) => [key(t), JSON.stringify(t)]));
    return {
      added: [...now.keys()].filter((k) => !was.has(k)),
      removed: [...was.keys()].filter((k) => !now.has(k)),
      changed: [...now.keys()].filter((k) => was.has(k) && was.get(k) !== now.get(k)),
    };
  };
  const providers = (p: Policies) => [...p.identityProviders, ...p.walletProviders];
  return {
    services: diff(before.relyingParties, after.relyingParties, (r) => r.client_id),
    providers: diff(providers(before), providers(after), (p) => p.id),
  };
}

/** A {@link Policies} that reads the set `get` returns at each use. */
function liveView(get: () => Policies): Policies {
  return {
    get dir() {
      return get().dir;
    },
    get levels() {
      return get().levels;
    },
    get broker() {
      return get().broker;
    },
    get identityProviders() {
      return get().identityProviders;
    },
    get relyingParties() {
      return get().relyingParties;
    },
    get walletProviders() {
      return get().walletProviders;
    },
    get warnings() {
      return get().warnings;
    },
    get missingWelsh() {
      return get().missingWelsh;
    },
    identityProvider: (id) => get().identityProvider(id),
    walletProvider: (id) => get().walletProvider(id),
    readFile: (path) => get().readFile(path),
    relyingParty: (clientId) => get().relyingParty(clientId),
    readSecret: (ref) => get().readSecret(ref),
    relyingPartyJwks: (rp) => get().relyingPartyJwks(rp),
  };
}
