import { describe, expect, it } from 'vitest';
import { MemoryDataKeyStore } from '../memory/memory-data-key-store.ts';
import { CipherError } from './crypto-errors.ts';
import { verifyKeyRing } from './data-keys.ts';
import { EnvelopeCipher, isSealed, PLAINTEXT_CIPHER } from './field-cipher.ts';
import { formatKeyRing, generateMasterKey, keyRing, parseKeyRing } from './key-ring.ts';
import { rotateMasterKey } from './key-rotation.ts';

const k1 = generateMasterKey('k1');
const k2 = generateMasterKey('k2');
const SECRET = '{"doc":{"note":"SENTINEL-7f3a"}}';

async function cipherFor(keys = [k1], store = new MemoryDataKeyStore()) {
  const cipher = new EnvelopeCipher(keyRing(keys), store);
  await cipher.ready(['t1', 't2']);
  return { cipher, store };
}

const codeOf = async (p: Promise<unknown>): Promise<string | undefined> =>
  p.then(
    () => undefined,
    (err: unknown) => (err instanceof CipherError ? err.code : `not a CipherError: ${String(err)}`),
  );

describe('field cipher', () => {
  it('cipher - seals to a prefixed ciphertext without the plaintext, and opens it; plaintext written before opens as it is', async () => {
    const { cipher } = await cipherFor();
    const sealed = cipher.seal('t1', 'runtimes.state', 'rt-1', SECRET);
    expect(isSealed(sealed)).toBe(true);
    expect(sealed).toMatch(/^bf1\.1\./);
    expect(sealed).not.toContain('SENTINEL');
    expect(cipher.seal('t1', 'runtimes.state', 'rt-1', SECRET)).not.toBe(sealed); // a fresh nonce each time
    expect(await cipher.open('t1', 'runtimes.state', 'rt-1', sealed)).toBe(SECRET);
    expect(await cipher.open('t1', 'runtimes.state', 'rt-1', SECRET)).toBe(SECRET);
  });

  it('cipher - a value copied to another tenant, column or row does not open (ciphertext_mismatch), nor an altered one', async () => {
    const { cipher } = await cipherFor();
    const sealed = cipher.seal('t1', 'runtimes.state', 'rt-1', SECRET);
    expect(await codeOf(cipher.open('t2', 'runtimes.state', 'rt-1', sealed))).toBe('ciphertext_mismatch');
    expect(await codeOf(cipher.open('t1', 'runtime_steps.body', 'rt-1', sealed))).toBe('ciphertext_mismatch');
    expect(await codeOf(cipher.open('t1', 'runtimes.state', 'rt-2', sealed))).toBe('ciphertext_mismatch');
    const flipped = sealed.slice(0, -4) + (sealed.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect(await codeOf(cipher.open('t1', 'runtimes.state', 'rt-1', flipped))).toBe('ciphertext_mismatch');
    await expect(cipher.open('t2', 'runtimes.state', 'rt-1', sealed)).rejects.toThrow(
      'runtimes.state of tenant t2 row rt-1 does not decrypt: it was altered, or copied from another tenant, table or row',
    );
  });

  it('cipher - each tenant gets its own data key once; two processes racing to create it agree on the stored one', async () => {
    const store = new MemoryDataKeyStore();
    const a = new EnvelopeCipher(keyRing([k1]), store);
    const b = new EnvelopeCipher(keyRing([k1]), store);
    await Promise.all([a.ready(['t1']), b.ready(['t1']), a.ready(['t1'])]);
    expect(await store.load(['t1'])).toHaveLength(1);
    expect(await b.open('t1', 'c', 'r', a.seal('t1', 'c', 'r', SECRET))).toBe(SECRET);
  });

  it('cipher - a process with another master key under the same id, or without the id, gets an error naming the id', async () => {
    const { cipher, store } = await cipherFor();
    const sealed = cipher.seal('t1', 'c', 'r', SECRET);
    const wrong = new EnvelopeCipher(keyRing([{ id: 'k1', key: k2.key }]), store);
    await expect(wrong.open('t1', 'c', 'r', sealed)).rejects.toThrow(
      /master key "k1" does not unwrap data key 1 of tenant t1/,
    );
    await expect(verifyKeyRing(store, keyRing([{ id: 'k1', key: k2.key }]))).rejects.toMatchObject({
      code: 'master_key_wrong',
    });
    await expect(verifyKeyRing(store, keyRing([k2]))).rejects.toThrow(
      /wrapped with master key "k1", which the key ring \(k2\) does not hold: add it to BFLOW_MASTER_KEYS/,
    );
    await expect(verifyKeyRing(store, keyRing([k2, k1]))).resolves.toBeUndefined();
  });

  it('cipher - without keys, values are plaintext and a sealed one is refused naming the variable', async () => {
    const { cipher } = await cipherFor();
    expect(PLAINTEXT_CIPHER.seal('t1', 'c', 'r', SECRET)).toBe(SECRET);
    await expect(PLAINTEXT_CIPHER.open('t1', 'c', 'r', cipher.seal('t1', 'c', 'r', SECRET))).rejects.toThrow(
      /no master keys are configured: set BFLOW_MASTER_KEYS/,
    );
    const off = new EnvelopeCipher(keyRing([k1]), new MemoryDataKeyStore(), { encrypt: false });
    expect(off.seal('t1', 'c', 'r', SECRET)).toBe(SECRET);
  });

  it('rotation - re-wraps every data key with the new master key, data keys unchanged: old ciphertexts open with the new ring only', async () => {
    const { cipher, store } = await cipherFor([k1]);
    const before = cipher.seal('t1', 'c', 'r', SECRET);
    const report = await rotateMasterKey(store, keyRing([k1]), k2);
    expect(report).toEqual({ rewrapped: 2, unchanged: 0 });
    expect((await store.samplePerMasterKey()).map((k) => k.masterKeyId)).toEqual(['k2']);
    const rotated = new EnvelopeCipher(keyRing([k2]), store);
    expect(await rotated.open('t1', 'c', 'r', before)).toBe(SECRET);
    expect(await rotateMasterKey(store, keyRing([k2]), k2)).toEqual({ rewrapped: 0, unchanged: 2 });
    await expect(rotateMasterKey(store, keyRing([k2]), { id: 'k2', key: k1.key })).rejects.toThrow(
      /id "k2" names another key in the ring/,
    );
  });

  it('rotation - a new data key version seals new values; the older version still opens what it sealed', async () => {
    const { cipher } = await cipherFor();
    const v1 = cipher.seal('t1', 'c', 'r', SECRET);
    expect(await cipher.newVersion('t1')).toBe(2);
    const v2 = cipher.seal('t1', 'c', 'r', SECRET);
    expect(v2).toMatch(/^bf1\.2\./);
    expect(await cipher.open('t1', 'c', 'r', v1)).toBe(SECRET);
    expect(await cipher.open('t1', 'c', 'r', v2)).toBe(SECRET);
  });

  it('cipher - a process that has not seen a newer version reads it on demand', async () => {
    const store = new MemoryDataKeyStore();
    const a = new EnvelopeCipher(keyRing([k1]), store);
    const b = new EnvelopeCipher(keyRing([k1]), store);
    await Promise.all([a.ready(['t1']), b.ready(['t1'])]);
    await a.newVersion('t1');
    expect(await b.open('t1', 'c', 'r', a.seal('t1', 'c', 'r', SECRET))).toBe(SECRET);
    await expect(b.open('t1', 'c', 'r', 'bf1.9.AAAA')).rejects.toMatchObject({ code: 'data_key_missing' });
  });
});

describe('field cipher - reads', () => {
  it('cipher - a page of sealed values of an uncached tenant reads its keys once; reading never creates a key', async () => {
    const store = new MemoryDataKeyStore();
    const writer = new EnvelopeCipher(keyRing([k1]), store);
    await writer.ready(['t1']);
    const sealed = Array.from({ length: 20 }, (_, i) => writer.seal('t1', 'c', `r${i}`, SECRET));
    let loads = 0;
    const counting = Object.assign(Object.create(store) as MemoryDataKeyStore, {
      load: (tenants: readonly string[]) => {
        loads += 1;
        return store.load(tenants);
      },
    });
    const reader = new EnvelopeCipher(keyRing([k1]), counting, { encrypt: false });
    const opened = await Promise.all(sealed.map((v, i) => reader.open('t1', 'c', `r${i}`, v)));
    expect(opened.every((p) => p === SECRET)).toBe(true);
    expect(loads).toBe(1);
    const other = sealed[0]!;
    await expect(reader.open('t9', 'c', 'r0', other)).rejects.toMatchObject({ code: 'data_key_missing' });
    expect(await store.load(['t9'])).toEqual([]);
  });
});

describe('key ring', () => {
  it('key ring - parses <id>:<base64>[,…], the first key active; round-trips through formatKeyRing', () => {
    const ring = parseKeyRing(formatKeyRing([k2, k1]), 'BFLOW_MASTER_KEYS');
    expect(ring.active.id).toBe('k2');
    expect(ring.ids).toEqual(['k2', 'k1']);
    expect(ring.get('k1')?.key.equals(k1.key)).toBe(true);
    expect(parseKeyRing(`# keys\n${formatKeyRing([k1])}\n\n`, 'file').ids).toEqual(['k1']);
  });

  it('key ring - a bad entry is named by position and id, never by its bytes', () => {
    expect(() => parseKeyRing('', 'BFLOW_MASTER_KEYS')).toThrow('BFLOW_MASTER_KEYS holds no key');
    expect(() => parseKeyRing('k1:bm90IGEga2V5', 'BFLOW_MASTER_KEYS')).toThrow(
      /BFLOW_MASTER_KEYS entry 1: key "k1" must be 32 bytes in base64 \(got 9 bytes\)/,
    );
    expect(() => parseKeyRing(`${formatKeyRing([k1])},:abc`, 'X')).toThrow('X entry 2: expected <id>:<base64 key>');
    try {
      parseKeyRing('k1:bm90IGEga2V5', 'X');
    } catch (err) {
      expect(String(err)).not.toContain('bm90IGEga2V5');
    }
  });
});
