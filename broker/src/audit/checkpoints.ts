/**
 * Signed checkpoints of the audit trail: tree heads in the style of Certificate Transparency
 * (RFC 9162 section 4.10), signed with ES256 by a key kept OUT of the store, and exported
 * outside it (a log line and an append-only file a witness copies).
 *
 * A checkpoint is a compact JWS (header `{ alg: 'ES256', kid, typ: 'audit-checkpoint+jws' }`)
 * whose payload says, for the chain of the instance that signed it:
 *   { v: 1, chain, n, size, root, head, at, prev, final?, witnessed }
 * - `size`: events 1..size of the chain; `root`: their Merkle tree hash (hex, ./merkle.ts);
 *   `head`: the hash of event `size` (the hash chain's tip, which commits to every event);
 * - `n`: 1, 2, ... per chain; `prev`: SHA-256 (hex) of the chain's previous checkpoint JWS
 *   (null for the first), so a witness's copy shows a missing checkpoint;
 * - `final`: the instance stopped (the chain takes no more events);
 * - `witnessed`: the heads `{ chain, size, head }` of the OTHER chains as this instance last
 *   read them, where they moved since its previous checkpoint. This joins the chains: a chain
 *   whose own instance died before checkpointing is still held to what others saw of it.
 *
 * The file (and the log line) carries one JWS per line; nothing else in it is trusted.
 */
import { createHash } from 'node:crypto';
import { CompactSign, compactVerify, importJWK, decodeProtectedHeader, type JWK } from 'jose';

export const CHECKPOINT_TYP = 'audit-checkpoint+jws';

export interface WitnessedHead {
  chain: string;
  size: number;
  head: string;
}

export interface CheckpointPayload {
  v: 1;
  chain: string;
  n: number;
  size: number;
  root: string;
  head: string;
  at: string;
  prev: string | null;
  final?: true;
  witnessed: WitnessedHead[];
}

/** A checkpoint whose signature verified, with where it came from. */
export interface Checkpoint extends CheckpointPayload {
  jws: string;
  kid: string;
  /** Where it was read: `file:line`, or `#index` for checkpoints given as strings. */
  source: string;
}

export type CheckpointProblemKind = 'bad-signature' | 'untrusted-key' | 'bad-checkpoint';

export interface CheckpointProblem {
  problem: CheckpointProblemKind;
  source: string;
  reason: string;
}

export function jwsDigest(jws: string): string {
  return createHash('sha256').update(jws).digest('hex');
}

/** The public part of a JWK (what a witness is given). */
export function publicJwk(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  return pub;
}

export async function signCheckpoint(payload: CheckpointPayload, key: JWK): Promise<string> {
  if (typeof key.kid !== 'string' || key.kid.length === 0) throw new Error('audit checkpoint key: the JWK needs a kid');
  const privateKey = await importJWK(key, 'ES256');
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: CHECKPOINT_TYP })
    .sign(privateKey);
}

const HEX64 = /^[0-9a-f]{64}$/;

function checkPayload(p: unknown): p is CheckpointPayload {
  if (!p || typeof p !== 'object') return false;
  const c = p as CheckpointPayload;
  const count = (x: unknown) => Number.isInteger(x) && (x as number) >= 0;
  return (
    c.v === 1 &&
    typeof c.chain === 'string' &&
    c.chain.length > 0 &&
    count(c.n) &&
    count(c.size) &&
    typeof c.root === 'string' &&
    HEX64.test(c.root) &&
    typeof c.head === 'string' &&
    HEX64.test(c.head) &&
    typeof c.at === 'string' &&
    (c.prev === null || (typeof c.prev === 'string' && HEX64.test(c.prev))) &&
    Array.isArray(c.witnessed) &&
    c.witnessed.every((w) => w && typeof w.chain === 'string' && count(w.size) && typeof w.head === 'string' && HEX64.test(w.head))
  );
}

/**
 * Verify checkpoint lines (blank lines skipped) against the trusted public keys. Returns the
 * good ones, and every problem in order: a line that is not a JWS, a signature that does not
 * verify, a key that is not trusted, a payload that is not a checkpoint.
 */
export async function readCheckpoints(lines: Array<{ text: string; source: string }>, trustedKeys: JWK[]): Promise<{ checkpoints: Checkpoint[]; problems: CheckpointProblem[] }> {
  const byKid = new Map<string, JWK>();
  for (const key of trustedKeys) if (typeof key.kid === 'string') byKid.set(key.kid, publicJwk(key));
  const checkpoints: Checkpoint[] = [];
  const problems: CheckpointProblem[] = [];
  for (const { text, source } of lines) {
    const jws = text.trim();
    if (jws === '') continue;
    let kid: string | undefined;
    try {
      const header = decodeProtectedHeader(jws);
      if (header.alg !== 'ES256' || header.typ !== CHECKPOINT_TYP) throw new Error(`not an ES256 ${CHECKPOINT_TYP}`);
      kid = header.kid;
    } catch (error) {
      problems.push({ problem: 'bad-checkpoint', source, reason: `checkpoint ${source} is not a signed checkpoint (${(error as Error).message})` });
      continue;
    }
    const key = kid ? byKid.get(kid) : undefined;
    if (!key) {
      problems.push({ problem: 'untrusted-key', source, reason: `checkpoint ${source} is signed with key ${JSON.stringify(kid ?? null)}, which is not a trusted audit checkpoint key` });
      continue;
    }
    let payload: unknown;
    try {
      const verified = await compactVerify(jws, await importJWK(key, 'ES256'), { algorithms: ['ES256'] });
      payload = JSON.parse(new TextDecoder().decode(verified.payload));
    } catch {
      problems.push({ problem: 'bad-signature', source, reason: `checkpoint ${source}: its signature does not verify with key ${kid} (forged or altered)` });
      continue;
    }
    if (!checkPayload(payload)) {
      problems.push({ problem: 'bad-checkpoint', source, reason: `checkpoint ${source} is signed but is not a version 1 checkpoint` });
      continue;
    }
    checkpoints.push({ ...payload, jws, kid: kid!, source });
  }
  return { checkpoints, problems };
}

/** Lines of checkpoint files, each with `file:line` as its source. */
export function checkpointLines(file: string, text: string): Array<{ text: string; source: string }> {
  return text.split('\n').map((line, i) => ({ text: line, source: `${file}:${i + 1}` }));
}
