import { describe, expect, it } from 'vitest';
import { MemoryDataKeyStore } from '../memory/memory-data-key-store.ts';
import { CipherError } from './crypto-errors.ts';
import { COMPRESS_FROM_LENGTH, compressText, decompressText } from './column-compression.ts';
import { ENCRYPTED } from './encrypted-columns.ts';
import { EnvelopeCipher, PLAINTEXT_CIPHER, PlaintextCipher } from './field-cipher.ts';
import { generateMasterKey, keyRing } from './key-ring.ts';

const k1 = generateMasterKey('k1');
/** A runtime state's JSON as a purchase order holds it at its third stage (the shape the dictionary knows). */
const STATE = JSON.stringify({
  v: 1,
  runtime: {
    id: 'rt-1',
    tenant: 't1',
    app: 'purchase.order',
    docId: 'po-1',
    workflowId: 'wf-po',
    version: 1,
    creator: 'alice',
    createdAt: 1767000000000,
  },
  status: 'in_progress',
  doc: { amount: 20000000, currency: 'VND', requester: 'alice', note: 'SENTINEL-7f3a', supplier: 'ACME', items: [] },
  stages: ['start', 'manager', 'finance'].map((node, i) => ({
    node,
    status: i < 2 ? 'closed' : 'open',
    enteredAt: 1767000000000 + i,
    tasks: ['alice', 'pur-mgr', 'fin-1', 'fin-2'].slice(i, i + 2).map((assignee) => ({ assignee, status: 'open' })),
  })),
  seq: 3,
  revision: 3,
  updatedAt: 1767000000002,
});

const where = 'runtimes.state of tenant t1 row rt-1';
const codeOf = async (p: Promise<unknown>): Promise<string | undefined> =>
  p.then(
    () => undefined,
    (err: unknown) => (err instanceof CipherError ? err.code : `not a CipherError: ${String(err)}`),
  );

/** Ciphers over one key store: they share the tenant's data key, as a cluster's processes do. */
const keys = new MemoryDataKeyStore();
async function envelope(compress: boolean, encrypt = true) {
  const cipher = new EnvelopeCipher(keyRing([k1]), keys, { compress, encrypt });
  await cipher.ready(['t1']);
  return cipher;
}

describe('column compression', () => {
  it('compression - a state deflates to well under half and back; a short value is left as it is', () => {
    const packed = compressText(STATE)!;
    expect(packed.length).toBeLessThan(STATE.length / 2);
    expect(packed[0]).toBe(0);
    expect(decompressText(packed, where)).toBe(STATE);
    expect(compressText('x'.repeat(COMPRESS_FROM_LENGTH - 1))).toBeUndefined();
  });

  it('compression - sealed: the state and the step body are stored smaller, still as bf1 ciphertext without the plaintext; other columns are not compressed', async () => {
    const on = await envelope(true);
    const off = await envelope(false);
    const sealed = on.seal('t1', ENCRYPTED.runtimeState, 'rt-1', STATE);
    expect(sealed).toMatch(/^bf1\.1\./);
    expect(sealed).not.toContain('SENTINEL');
    expect(sealed.length).toBeLessThan(off.seal('t1', ENCRYPTED.runtimeState, 'rt-1', STATE).length / 2);
    expect(await on.open('t1', ENCRYPTED.runtimeState, 'rt-1', sealed)).toBe(STATE);
    const body = on.seal('t1', ENCRYPTED.stepBody, 'rt-1/3', STATE);
    expect(await on.open('t1', ENCRYPTED.stepBody, 'rt-1/3', body)).toBe(STATE);
    // A comment is not a compressed column: sealed as before, the same length as without compression.
    expect(on.seal('t1', ENCRYPTED.logComment, 'rt-1/3', STATE).length).toBe(
      off.seal('t1', ENCRYPTED.logComment, 'rt-1/3', STATE).length,
    );
  });

  it('compression - readers open every stored form whatever they write: compressed or not, sealed or plaintext, written before compression', async () => {
    const on = await envelope(true);
    const off = await envelope(false);
    const plainOn = new PlaintextCipher(true);
    const stored = [
      on.seal('t1', ENCRYPTED.runtimeState, 'rt-1', STATE),
      off.seal('t1', ENCRYPTED.runtimeState, 'rt-1', STATE),
      plainOn.seal('t1', ENCRYPTED.runtimeState, 'rt-1', STATE),
      STATE,
    ];
    expect(stored[2]).toMatch(/^bz1\./);
    expect(stored[2]).not.toContain('SENTINEL');
    for (const reader of [on, off, await envelope(true, false)])
      for (const value of stored) expect(await reader.open('t1', ENCRYPTED.runtimeState, 'rt-1', value)).toBe(STATE);
    // Without keys: plaintext and compressed plaintext open, ciphertext names what to set.
    for (const reader of [PLAINTEXT_CIPHER, plainOn]) {
      expect(await reader.open('t1', ENCRYPTED.runtimeState, 'rt-1', stored[2]!)).toBe(STATE);
      expect(await reader.open('t1', ENCRYPTED.runtimeState, 'rt-1', STATE)).toBe(STATE);
      expect(await codeOf(reader.open('t1', ENCRYPTED.runtimeState, 'rt-1', stored[0]!))).toBe('key_ring_invalid');
    }
    // Encryption off but compression on: the plaintext compressed form.
    expect((await envelope(true, false)).seal('t1', ENCRYPTED.stepBody, 'rt-1/1', STATE)).toMatch(/^bz1\./);
  });

  it('compression - a damaged compressed plaintext value is refused with ciphertext_mismatch, naming the row; it never inflates without bound', async () => {
    const damaged = `bz1.${Buffer.from([0, 0xff, 0x13, 0x37, 0x42]).toString('base64')}`;
    expect(await codeOf(PLAINTEXT_CIPHER.open('t1', ENCRYPTED.runtimeState, 'rt-1', damaged))).toBe(
      'ciphertext_mismatch',
    );
    await expect(PLAINTEXT_CIPHER.open('t1', ENCRYPTED.runtimeState, 'rt-1', damaged)).rejects.toThrow(
      /^runtimes\.state of tenant t1 row rt-1: compressed value does not inflate/,
    );
    const bomb = compressText(`{"a":"${'0'.repeat(17 * 1024 * 1024)}"}`)!;
    expect(() => decompressText(bomb, where)).toThrow(CipherError);
  });
});
