/**
 * Merkle trees as Certificate Transparency defines them (RFC 9162 section 2.1, the same
 * construction as RFC 6962): SHA-256, leaf hash H(0x00 || data), interior node
 * H(0x01 || left || right), the left subtree of n leaves always the largest power of two
 * below n. One audit event can be proved included in a signed tree head with log2(n) hashes
 * that reveal nothing about the other events, and two tree heads can be proved consistent
 * (the later one extends the earlier: nothing removed, changed or reordered in between).
 *
 * Hashes are 32-byte Buffers here; checkpoints carry them as lower-case hex.
 */
import { createHash } from 'node:crypto';

const LEAF = Buffer.from([0x00]);
const NODE = Buffer.from([0x01]);

export const EMPTY_ROOT = createHash('sha256').digest();

export function leafHash(data: Uint8Array | string): Buffer {
  return createHash('sha256').update(LEAF).update(data).digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE).update(left).update(right).digest();
}

/** Largest power of two strictly below n (n >= 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH over leaf hashes (already H(0x00 || d)). */
export function rootOf(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leaves[0]!;
  const k = split(leaves.length);
  return nodeHash(rootOf(leaves.slice(0, k)), rootOf(leaves.slice(k)));
}

/** PATH(m, D[n]) of RFC 9162 2.1.3.1: the audit path of leaf `index` in the tree of `leaves`. */
export function inclusionProof(leaves: readonly Buffer[], index: number): Buffer[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) throw new RangeError(`leaf ${index} is not in a tree of ${leaves.length}`);
  if (leaves.length === 1) return [];
  const k = split(leaves.length);
  return index < k
    ? [...inclusionProof(leaves.slice(0, k), index), rootOf(leaves.slice(k))]
    : [...inclusionProof(leaves.slice(k), index - k), rootOf(leaves.slice(0, k))];
}

/** RFC 9162 2.1.3.2: does `proof` show `leaf` (a leaf hash) at `index` in the tree of `size` with `root`? */
export function verifyInclusion(leaf: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}

function subproof(m: number, leaves: readonly Buffer[], whole: boolean): Buffer[] {
  const n = leaves.length;
  if (m === n) return whole ? [] : [rootOf(leaves)];
  const k = split(n);
  return m <= k
    ? [...subproof(m, leaves.slice(0, k), whole), rootOf(leaves.slice(k))]
    : [...subproof(m - k, leaves.slice(k), false), rootOf(leaves.slice(0, k))];
}

/** PROOF(m, D[n]) of RFC 9162 2.1.4.1: the tree of the first `m` leaves is a prefix of the tree of all `leaves`. */
export function consistencyProof(leaves: readonly Buffer[], m: number): Buffer[] {
  if (!Number.isInteger(m) || m < 1 || m > leaves.length) throw new RangeError(`a consistency proof needs 1 <= m <= ${leaves.length}, got ${m}`);
  return subproof(m, leaves, true);
}

/** RFC 9162 2.1.4.2. */
export function verifyConsistency(firstSize: number, secondSize: number, firstRoot: Uint8Array, secondRoot: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (!Number.isInteger(firstSize) || !Number.isInteger(secondSize) || firstSize < 1 || firstSize > secondSize) return false;
  if (firstSize === secondSize) return proof.length === 0 && Buffer.from(firstRoot).equals(secondRoot);
  const path = (firstSize & (firstSize - 1)) === 0 ? [firstRoot, ...proof] : [...proof];
  if (path.length === 0) return false;
  let fn = firstSize - 1;
  let sn = secondSize - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Buffer = Buffer.from(path[0]!);
  let sr: Buffer = Buffer.from(path[0]!);
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && fr.equals(firstRoot) && sr.equals(secondRoot);
}

/**
 * The right edge of a growing tree: the roots of its perfect subtrees, largest first (one per
 * set bit of the size). Appending a leaf and taking the root cost O(log n) and need none of
 * the earlier leaves, so an instance keeps its chain's tree head as it appends, and a pruned
 * chain keeps the frontier of what it removed.
 */
export class Frontier {
  #size: number;
  #nodes: Buffer[];

  constructor(size = 0, nodes: readonly Buffer[] = []) {
    const expected = size.toString(2).split('').filter((b) => b === '1').length;
    if (!Number.isInteger(size) || size < 0 || nodes.length !== expected) throw new RangeError(`a frontier of ${size} leaves has ${expected} nodes, not ${nodes.length}`);
    this.#size = size;
    this.#nodes = nodes.map((n) => Buffer.from(n));
  }

  static fromHex(size: number, nodes: readonly string[]): Frontier {
    return new Frontier(size, nodes.map((n) => Buffer.from(n, 'hex')));
  }

  get size(): number {
    return this.#size;
  }

  /** Append one leaf hash. */
  push(leaf: Uint8Array): void {
    let node: Buffer = Buffer.from(leaf);
    let size = this.#size;
    // Merge with the perfect subtrees of equal size: one per trailing 1 bit of the old size.
    while (size % 2 === 1) {
      node = nodeHash(this.#nodes.pop()!, node);
      size = Math.floor(size / 2);
    }
    this.#nodes.push(node);
    this.#size++;
  }

  root(): Buffer {
    if (this.#nodes.length === 0) return EMPTY_ROOT;
    let r = this.#nodes[this.#nodes.length - 1]!;
    for (let i = this.#nodes.length - 2; i >= 0; i--) r = nodeHash(this.#nodes[i]!, r);
    return r;
  }

  clone(): Frontier {
    return new Frontier(this.#size, this.#nodes);
  }

  toHex(): string[] {
    return this.#nodes.map((n) => n.toString('hex'));
  }
}
