/**
 * Onboarding on a running federation (`npm run onboard`): add a service or an identity provider,
 * suspend, resume or withdraw a provider, by editing the policy folder safely.
 *
 * Every change is checked as the brokers will check it: the whole folder, with the change, is
 * loaded by the same loader (in a scratch copy) before anything is written, so a change that
 * would be refused by a broker is refused here first, each problem named (file and field).
 * Nothing is overwritten silently: adding a service or provider that exists already is refused
 * (`--replace` says you mean it). Edits keep the file's comments and layout (the `yaml` Document
 * API). The file is written whole in one step (a rename), so a broker watching the folder never
 * reads half of it.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { isMap, isPair, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { loadPolicies, PolicyError, type Policies, type PolicyIssue } from './loader.js';

export class OnboardError extends Error {
  override readonly name = 'OnboardError';
  constructor(readonly issues: PolicyIssue[]) {
    super(issues.map((i) => `${i.file}${i.field ? ` (${i.field})` : ''}: ${i.message}`).join('\n'));
  }
}

export interface OnboardResult {
  /** The file written (relative to the policy folder), or undefined when nothing had to change. */
  written?: string;
  /** What was done, in a sentence. */
  message: string;
  /** Problems that do not stop the change (e.g. no Welsh yet: `npm run policies:check` fails until written). */
  warnings: string[];
}

export interface ServiceChanges {
  display_name?: string;
  organisation?: string;
  sector_identifier?: string;
  /** Replaces other_ways (the draft's placeholder): what people who cannot prove their identity online can do. */
  other_ways?: string[];
  /** The same in Welsh (every text a citizen reads needs it: `npm run policies:check`). */
  cy?: { display_name?: string; organisation?: string; other_ways?: string[] };
}

export interface OnboardOptions {
  /** The policy folder. */
  dir: string;
  /** Replace an existing service or provider of the same id (otherwise refused). */
  replace?: boolean;
  /** Today (YYYY-MM-DD), for withdrawn_on and the file's note. Default: today. */
  today?: string;
}

const PLACEHOLDER = /\bTODO\b/;

/** Add a service from a policy entry (the draft `idbroker-rp init` writes), with changes from flags. */
export function addService(source: string, changes: ServiceChanges, options: OnboardOptions): OnboardResult {
  const from = resolve(source);
  const doc = readDocument(from, source);
  if (changes.display_name !== undefined) doc.set('display_name', changes.display_name);
  if (changes.organisation !== undefined) doc.set('organisation', changes.organisation);
  if (changes.sector_identifier !== undefined) doc.set('sector_identifier', changes.sector_identifier);
  if (changes.other_ways !== undefined) doc.set('other_ways', doc.createNode(changes.other_ways.map((text) => ({ text }))));
  if (changes.cy) {
    const cy = { display_name: changes.cy.display_name ?? '', organisation: changes.cy.organisation ?? '', other_ways: (changes.cy.other_ways ?? []).map((text) => ({ text })) };
    doc.set('cy', doc.createNode(cy));
  }
  blockStyle(doc.get('jwks', true));
  const clientId = doc.get('client_id');
  if (typeof clientId !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{1,127}$/.test(clientId)) {
    throw new OnboardError([{ file: source, field: 'client_id', message: 'is required: 2-128 letters, digits, dot, underscore or hyphen' }]);
  }
  const placeholders = findPlaceholders(doc.toJS());
  if (placeholders.length) {
    throw new OnboardError(
      placeholders.map((field) => ({
        file: source,
        field,
        message: `is still the draft's placeholder (TODO): write the real text${field.startsWith('other_ways') ? ' (or give --other-way "...", once per way)' : ''}`,
      })),
    );
  }
  noteOnboarded(doc, `${clientId}: onboarded with npm run onboard on ${options.today ?? today()} from ${basename(from)}.`);
  const dir = resolve(options.dir);
  const existing = fileDeclaring(dir, 'relying-parties', 'client_id', clientId);
  const target = existing ?? join('relying-parties', `${safeName(clientId)}.yaml`);
  if (existing || existsSync(join(dir, target))) {
    if (!options.replace) {
      throw new OnboardError([{ file: target, field: existing ? 'client_id' : '', message: existing ? `the service ${clientId} exists already: not replaced (give --replace to replace it)` : 'exists already: not overwritten (give --replace to replace it)' }]);
    }
  }
  const loaded = stageAndCheck(dir, target, print(doc), source);
  writeWhole(dir, target, print(doc));
  const verb = existing ? 'Replaced' : 'Added';
  return {
    written: target,
    message: `${verb} the service ${clientId}: ${target}`,
    warnings: warningsFor(loaded, target),
  };
}

/** Add an identity provider (or wallet provider) from its policy file. */
export function addProvider(source: string, options: OnboardOptions): OnboardResult {
  const from = resolve(source);
  const doc = readDocument(from, source);
  const id = doc.get('id');
  if (typeof id !== 'string' || !/^[a-z0-9][a-z0-9-]{1,62}$/.test(id)) {
    throw new OnboardError([{ file: source, field: 'id', message: 'is required: lower-case letters, digits and hyphens (2 to 63 characters)' }]);
  }
  const placeholders = findPlaceholders(doc.toJS());
  if (placeholders.length) throw new OnboardError(placeholders.map((field) => ({ file: source, field, message: 'is still a placeholder (TODO): write the real value' })));
  const dir = resolve(options.dir);
  const existing = fileDeclaring(dir, 'identity-providers', 'id', id);
  const target = existing ?? join('identity-providers', `${id}.yaml`);
  if ((existing || existsSync(join(dir, target))) && !options.replace) {
    throw new OnboardError([{ file: target, field: existing ? 'id' : '', message: existing ? `the provider ${id} exists already: not replaced (give --replace to replace it)` : 'exists already: not overwritten (give --replace to replace it)' }]);
  }
  const loaded = stageAndCheck(dir, target, print(doc), source);
  writeWhole(dir, target, print(doc));
  const status = doc.get('status');
  return {
    written: target,
    message: `${existing ? 'Replaced' : 'Added'} the provider ${id} (status ${String(status)}): ${target}`,
    warnings: warningsFor(loaded, target),
  };
}

export type ProviderAction = 'suspend' | 'resume' | 'withdraw';

/** Suspend or resume a provider (`status`), or record its certificate withdrawn from the register. */
export function changeProvider(id: string, action: ProviderAction, options: OnboardOptions): OnboardResult {
  const dir = resolve(options.dir);
  const target = fileDeclaring(dir, 'identity-providers', 'id', id);
  if (!target) {
    const known = listYaml(dir, 'identity-providers').map((f) => readIdOf(join(dir, f), 'id')).filter(Boolean);
    throw new OnboardError([{ file: 'identity-providers', field: '', message: `no provider has the id "${id}" (there are: ${known.join(', ') || 'none'})` }]);
  }
  const source = readFileSync(join(dir, target), 'utf8');
  const doc = readDocument(join(dir, target), target);
  const edits: Edit[] = [];
  let message: string;
  if (action === 'withdraw') {
    if (!isMap(doc.getIn(['certification', 'register'], true))) throw new OnboardError([{ file: target, field: 'certification.register', message: 'is missing: nothing to withdraw' }]);
    if (doc.getIn(['certification', 'register', 'status']) === 'withdrawn') {
      return { message: `${id}: its certificate is already recorded as withdrawn (${target}): nothing changed`, warnings: [] };
    }
    const on = options.today ?? today();
    edits.push({ path: ['certification', 'register', 'status'], value: 'withdrawn' }, { path: ['certification', 'register', 'withdrawn_on'], value: on, after: 'status' });
    message = `${id}: certificate recorded as withdrawn from the register on ${on} (${target}): it is no longer offered`;
  } else {
    const status = action === 'suspend' ? 'suspended' : 'enabled';
    if (doc.get('status') === status) return { message: `${id} is already ${status} (${target}): nothing changed`, warnings: [] };
    edits.push({ path: ['status'], value: status });
    message = `${id} is now ${status} (${target}): ${status === 'suspended' ? 'it is no longer offered, and answers from it during a journey are no longer accepted' : 'it is offered again'}`;
  }
  const text = edit(source, doc, edits);
  const loaded = stageAndCheck(dir, target, text, target);
  writeWhole(dir, target, text);
  return { written: target, message, warnings: warningsFor(loaded, target) };
}

interface Edit {
  path: string[];
  value: string;
  /** When the field is missing: the sibling field it goes after. */
  after?: string;
}

/**
 * Change scalar fields in place: each value is replaced where it stands in the text (found with
 * the Document API's source ranges), so every other byte of the file (comments, layout, flow
 * style) stays as written. A missing field goes on a line of its own after its sibling. If the
 * result does not read back as the Document API's own edit would, the Document API prints the file.
 */
function edit(source: string, doc: Document, edits: Edit[]): string {
  const expected = doc.clone();
  for (const e of edits) expected.setIn(e.path, e.value);
  const splices: Array<{ at: number; end: number; text: string }> = [];
  for (const e of edits) {
    const node = doc.getIn(e.path, true);
    if (isScalar(node) && node.range) {
      splices.push({ at: node.range[0], end: node.range[1], text: e.value });
      continue;
    }
    const sibling = e.after ? doc.getIn([...e.path.slice(0, -1), e.after], true) : undefined;
    const parent = doc.getIn(e.path.slice(0, -1), true);
    const pair = isMap(parent) ? parent.items.find((p) => isScalar(p.key) && p.key.value === e.after) : undefined;
    if (node === undefined && isScalar(sibling) && sibling.range && pair && isScalar(pair.key) && pair.key.range) {
      const lineStart = source.lastIndexOf('\n', pair.key.range[0] - 1) + 1;
      const indent = source.slice(lineStart, pair.key.range[0]);
      const lineEnd = source.indexOf('\n', sibling.range[1]);
      const at = lineEnd < 0 ? source.length : lineEnd;
      if (/^\s*$/.test(indent)) {
        splices.push({ at, end: at, text: `\n${indent}${e.path.at(-1)}: ${e.value}` });
        continue;
      }
    }
    return print(expected);
  }
  let text = source;
  for (const s of splices.sort((a, b) => b.at - a.at)) text = text.slice(0, s.at) + s.text + text.slice(s.end);
  const check = parseDocument(text);
  return check.errors.length === 0 && JSON.stringify(check.toJS()) === JSON.stringify(expected.toJS()) ? text : print(expected);
}

// --- internals ---

/** As the file was written: no padding in [flow, lists], long lines left whole. */
function print(doc: Document): string {
  return doc.toString({ flowCollectionPadding: false, lineWidth: 0 });
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

function readDocument(path: string, shown: string): Document {
  if (!existsSync(path)) throw new OnboardError([{ file: shown, field: '', message: 'the file is missing' }]);
  const doc = parseDocument(readFileSync(path, 'utf8'), { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new OnboardError(doc.errors.map((e) => ({ file: shown, field: '', message: `not valid YAML${e.linePos?.[0]?.line ? ` at line ${e.linePos[0].line}` : ''}: ${e.message.split('\n')[0]}` })));
  }
  if (!isMap(doc.contents)) throw new OnboardError([{ file: shown, field: '', message: 'must be a YAML mapping (field: value lines)' }]);
  return doc;
}

/** Dotted paths of every string holding a TODO placeholder. */
function findPlaceholders(value: unknown, path = ''): string[] {
  if (typeof value === 'string') return PLACEHOLDER.test(value) ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => findPlaceholders(v, path ? `${path}.${i}` : String(i)));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => findPlaceholders(v, path ? `${path}.${k}` : k));
  return [];
}

/** The draft's "send it to the operator" note is replaced by when and whence it was onboarded. */
function noteOnboarded(doc: Document, note: string): void {
  const first = isMap(doc.contents) ? doc.contents.items[0]?.key : undefined;
  const holder = doc.commentBefore ? doc : first && typeof first === 'object' && 'commentBefore' in first && (first as { commentBefore?: string | null }).commentBefore ? (first as { commentBefore?: string | null }) : doc;
  const before = holder.commentBefore ?? '';
  holder.commentBefore = /Draft policy entry/.test(before) ? ` ${note}` : before ? `${before}\n ${note}` : ` ${note}`;
}

/** Key sets written inline as JSON (the draft's jwks) become ordinary block YAML. */
function blockStyle(node: unknown): void {
  if (isMap(node) || isSeq(node)) {
    node.flow = false;
    for (const item of node.items) blockStyle(isPair(item) ? item.value : item);
  }
}

function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '-');
}

function listYaml(dir: string, sub: string): string[] {
  const folder = join(dir, sub);
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => join(sub, f));
}

function readIdOf(path: string, field: string): string | undefined {
  try {
    const value = (parseDocument(readFileSync(path, 'utf8')).toJS() as Record<string, unknown> | null)?.[field];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The file (relative) in `sub` whose `field` is `value`. */
function fileDeclaring(dir: string, sub: string, field: string, value: string): string | undefined {
  return listYaml(dir, sub).find((f) => readIdOf(join(dir, f), field) === value);
}

/**
 * Load the whole folder with `text` as `target`, in a scratch copy: the brokers' own check. Issues
 * about `target` are named as `shown` (the file the operator gave).
 */
function stageAndCheck(dir: string, target: string, text: string, shown: string): Policies {
  const scratch = mkdtempSync(join(tmpdir(), 'idb-onboard-'));
  try {
    cpSync(dir, scratch, { recursive: true, filter: (src) => !/^(node_modules|src|test|\.git)($|[\\/])|\.tmp$/.test(relative(dir, src)) });
    writeFileSync(join(scratch, target), text);
    try {
      return loadPolicies(scratch);
    } catch (e) {
      if (!(e instanceof PolicyError)) throw e;
      throw new OnboardError(e.issues.map((i) => (i.file === target && shown !== target ? { ...i, file: `${shown} (as ${target})` } : i)));
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function writeWhole(dir: string, target: string, text: string): void {
  const path = join(dir, target);
  // A name the brokers' watch ignores (".tmp"), then one rename: they never read half a file.
  const scratch = join(dir, `${target}.${process.pid}.tmp`);
  writeFileSync(scratch, text);
  renameSync(scratch, path);
}

function warningsFor(loaded: Policies, target: string): string[] {
  return [...loaded.warnings, ...loaded.missingWelsh]
    .filter((w) => w.file === target)
    .map((w) => `${w.file}${w.field ? ` (${w.field})` : ''}: ${w.message}${loaded.missingWelsh.includes(w) ? ' (the brokers show English there; npm run policies:check fails until it is written)' : ''}`);
}
