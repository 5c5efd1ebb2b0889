import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSealer, deriveKey, SealError } from './seal.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const key = deriveKey(SECRET, 'journey-state');
const sealer = createSealer(key);
const record = { given_name: 'Margaret', birthdate: '1958-03-14', nested: { n: [1, 2, null], ok: true } };

function b64(part: string): Buffer {
  return Buffer.from(part, 'base64url');
}
function flipByte(sealed: string, partIndex: number): string {
  const parts = sealed.split('.');
  const bytes = b64(parts[partIndex]!);
  bytes[0] = bytes[0]! ^ 0x01;
  parts[partIndex] = bytes.toString('base64url');
  return parts.join('.');
}

describe('seal / open', () => {
  it('round-trips JSON values under the same AAD', () => {
    const sealed = sealer.seal(record, 'journey:J1');
    expect(sealer.open(sealed, 'journey:J1')).toEqual(record);
    for (const v of ['plain', 42, null, [1, 'two'], { ü: '€🎉' }]) {
      expect(sealer.open(sealer.seal(v, 'k'), 'k')).toEqual(v);
    }
  });

  it('uses the compact versioned format and hides the plaintext', () => {
    const sealed = sealer.seal(record, 'journey:J1');
    const parts = sealed.split('.');
    expect(parts).toHaveLength(4);
    expect(parts[0]).toBe('v1');
    expect(b64(parts[1]!)).toHaveLength(12);
    expect(b64(parts[3]!)).toHaveLength(16);
    expect(sealed).not.toContain('Margaret');
    expect(b64(parts[2]!).toString('utf8')).not.toContain('Margaret');
  });

  it('uses a fresh IV every time (same value, same AAD, different output)', () => {
    const outputs = Array.from({ length: 50 }, () => sealer.seal(record, 'journey:J1'));
    expect(new Set(outputs.map((s) => s.split('.')[1])).size).toBe(50);
    expect(new Set(outputs).size).toBe(50);
  });

  it('throws when any part is tampered with', () => {
    const sealed = sealer.seal(record, 'journey:J1');
    for (const part of [1, 2, 3]) {
      expect(() => sealer.open(flipByte(sealed, part), 'journey:J1')).toThrow(SealError);
    }
    const parts = sealed.split('.');
    expect(() => sealer.open([parts[0], parts[1], parts[2]!.slice(0, -2), parts[3]].join('.'), 'journey:J1')).toThrow(SealError);
    expect(() => sealer.open(`v2.${parts.slice(1).join('.')}`, 'journey:J1')).toThrow(/unknown format/);
    expect(() => sealer.open('not-sealed', 'journey:J1')).toThrow(/unknown format/);
    expect(() => sealer.open(`${sealed}.extra`, 'journey:J1')).toThrow(/unknown format/);
  });

  it('throws under another AAD: a sealed record cannot be moved to another key', () => {
    const sealed = sealer.seal(record, 'journey:J1');
    expect(() => sealer.open(sealed, 'journey:J2')).toThrow(SealError);
    expect(() => sealer.open(sealed, 'journey:J1 ')).toThrow(SealError);
    expect(() => sealer.seal(record, '')).toThrow(/aad/);
  });

  it('throws under another key, and opens after rotation with the old key kept', () => {
    const sealed = sealer.seal(record, 'journey:J1');
    const other = createSealer(deriveKey(SECRET, 'case-contact'));
    expect(() => other.open(sealed, 'journey:J1')).toThrow(SealError);
    const rotated = createSealer(randomBytes(32), { previousKeys: [key] });
    expect(rotated.open(sealed, 'journey:J1')).toEqual(record);
    expect(() => sealer.open(rotated.seal(record, 'journey:J1'), 'journey:J1')).toThrow(SealError);
  });

  it('refuses keys that are not 32 bytes and values that are not JSON', () => {
    expect(() => createSealer(new Uint8Array(16))).toThrow(/32 bytes/);
    expect(() => sealer.seal(undefined, 'k')).toThrow(/JSON/);
  });
});

describe('deriveKey', () => {
  it('is deterministic per secret and purpose, and independent across purposes and secrets', () => {
    const a = deriveKey(SECRET, 'journey-state');
    expect(a).toHaveLength(32);
    expect(Buffer.from(deriveKey(SECRET, 'journey-state'))).toEqual(Buffer.from(a));
    expect(Buffer.from(deriveKey(SECRET, 'case-contact'))).not.toEqual(Buffer.from(a));
    expect(Buffer.from(deriveKey(`${SECRET}x`, 'journey-state'))).not.toEqual(Buffer.from(a));
  });

  it('matches HKDF-SHA-256 (RFC 5869) with the documented salt and the purpose as info', async () => {
    const { hkdfSync } = await import('node:crypto');
    const expected = Buffer.from(hkdfSync('sha256', SECRET, 'idbroker/hkdf/v1', 'journey-state', 32));
    expect(Buffer.from(deriveKey(SECRET, 'journey-state'))).toEqual(expected);
  });

  it('refuses short secrets and empty purposes', () => {
    expect(() => deriveKey('short', 'x')).toThrow(/at least 32/);
    expect(() => deriveKey(SECRET, '')).toThrow(/purpose/);
  });
});
