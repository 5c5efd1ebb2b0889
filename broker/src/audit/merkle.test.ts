import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { consistencyProof, EMPTY_ROOT, Frontier, inclusionProof, leafHash, rootOf, verifyConsistency, verifyInclusion } from './merkle.js';

// The reference log's test data (certificate-transparency, RFC 6962 / RFC 9162 tree hashing).
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => leafHash(Buffer.from(h, 'hex')));
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const hex = (bs: Buffer[]) => bs.map((b) => b.toString('hex'));

describe('Merkle tree (RFC 9162 2.1)', () => {
  it('gives the reference roots for 0 to 8 leaves, and so does the frontier', () => {
    expect(rootOf([]).toString('hex')).toBe(createHash('sha256').digest('hex'));
    expect(EMPTY_ROOT.equals(rootOf([]))).toBe(true);
    const frontier = new Frontier();
    for (let n = 1; n <= 8; n++) {
      expect(rootOf(LEAVES.slice(0, n)).toString('hex'), `root of ${n}`).toBe(ROOTS[n - 1]);
      frontier.push(LEAVES[n - 1]!);
      expect(frontier.root().toString('hex'), `frontier root of ${n}`).toBe(ROOTS[n - 1]);
      const copy = Frontier.fromHex(frontier.size, frontier.toHex());
      expect(copy.root().equals(frontier.root())).toBe(true);
    }
  });

  it('gives the reference audit paths and consistency proof', () => {
    expect(hex(inclusionProof(LEAVES, 0))).toEqual([
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ]);
    expect(hex(inclusionProof(LEAVES, 5))).toEqual([
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ]);
    expect(hex(consistencyProof(LEAVES, 1))).toEqual([
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ]);
  });

  it('every inclusion proof verifies, and none verifies for another leaf, index or root, or with a hash missing', () => {
    const leaves = Array.from({ length: 37 }, (_, i) => leafHash(`event-${i}`));
    for (let n = 1; n <= leaves.length; n++) {
      const tree = leaves.slice(0, n);
      const root = rootOf(tree);
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(tree, i);
        expect(verifyInclusion(tree[i]!, i, n, proof, root), `leaf ${i} of ${n}`).toBe(true);
        expect(verifyInclusion(leafHash('forged'), i, n, proof, root)).toBe(false);
        if (n > 1) expect(verifyInclusion(tree[i]!, (i + 1) % n, n, proof, root)).toBe(false);
        expect(verifyInclusion(tree[i]!, i, n, proof, leafHash('other root'))).toBe(false);
        if (proof.length > 0) expect(verifyInclusion(tree[i]!, i, n, proof.slice(1), root)).toBe(false);
      }
    }
  });

  it('every consistency proof verifies; a changed, removed or reordered leaf breaks it', () => {
    const leaves = Array.from({ length: 21 }, (_, i) => leafHash(`event-${i}`));
    for (let n = 1; n <= leaves.length; n++) {
      const second = rootOf(leaves.slice(0, n));
      for (let m = 1; m <= n; m++) {
        const first = rootOf(leaves.slice(0, m));
        const proof = consistencyProof(leaves.slice(0, n), m);
        expect(verifyConsistency(m, n, first, second, proof), `${m} -> ${n}`).toBe(true);
        if (m < n) {
          // The earlier head, had its history been different, is not consistent with this one.
          const edited = [...leaves.slice(0, m)];
          edited[m - 1] = leafHash('edited');
          expect(verifyConsistency(m, n, rootOf(edited), second, proof)).toBe(false);
          expect(verifyConsistency(m, n, first, rootOf([...leaves.slice(0, n - 1), leafHash('x')]), proof)).toBe(false);
        }
      }
    }
    const swapped = [leaves[1]!, leaves[0]!, ...leaves.slice(2, 8)];
    expect(verifyConsistency(4, 8, rootOf(leaves.slice(0, 4)), rootOf(swapped), consistencyProof(swapped, 4))).toBe(false);
  });
});
