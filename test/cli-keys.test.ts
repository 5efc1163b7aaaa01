import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../src/cli/keys.ts';
import { verifyKeyRing } from '../src/store/crypto/data-keys.ts';
import { EnvelopeCipher } from '../src/store/crypto/field-cipher.ts';
import { formatKeyRing, generateMasterKey, keyRing } from '../src/store/crypto/key-ring.ts';
import { MySqlDataKeyStore } from '../src/store/mysql/data-key-store.ts';
import { MySqlReadModel } from '../src/store/mysql/read-model.ts';
import { MySqlTransitionWriter } from '../src/store/mysql/transition-writer.ts';
import { useTestDatabase, type TestDatabase } from './harness/mysql.ts';
import { step, uniqueTenant } from './store/fixtures.ts';

/** `bflow keys rotate` and `bflow keys rewrap-data` (docs/security.md#key-rotation), in process on a test database. */

const k1 = generateMasterKey('k1');
const k2 = generateMasterKey('k2');
let db: TestDatabase;
const tenant = uniqueTenant('keys');

beforeAll(async () => {
  db = await useTestDatabase('cli_keys');
  const writer = new MySqlTransitionWriter(db.pool, {
    cipher: new EnvelopeCipher(keyRing([k1]), new MySqlDataKeyStore(db.pool)),
  });
  await writer.commit(step({ tenant, id: 'rt-1' }));
  await writer.commit(step({ tenant, id: 'rt-1', baseRevision: 1 }));
  await writer.close();
}, 60_000);
afterAll(async () => {
  await db?.drop();
});

async function bflowKeys(env: Record<string, string>, ...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const cluster = { BFLOW_MYSQL_URL: db.url, BFLOW_NATS_URL: 'nats://127.0.0.1:4222', ...env };
  const code = await keys(args, { out: (l) => out.push(l), err: (l) => err.push(l) }, cluster);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('bflow keys', () => {
  it('bflow keys - bad arguments and a missing ring exit 2 naming the bad value, never a key', async () => {
    const ring = { BFLOW_MASTER_KEYS: formatKeyRing([k1]) };
    const cases: [Record<string, string>, string[], string][] = [
      [ring, [], 'a subcommand is required'],
      [ring, ['spin'], 'unknown subcommand "spin"'],
      [ring, ['rotate', '--colour'], "Unknown option '--colour'"],
      [
        ring,
        ['rotate', '--new-key', 'k3:c2hvcnQ='],
        '--new-key entry 1: key "k3" must be 32 bytes in base64 (got 5 bytes)',
      ],
      [
        ring,
        ['rotate', '--new-key-file', '/nonexistent/k'],
        '--new-key-file "/nonexistent/k": cannot read it (ENOENT)',
      ],
      [ring, ['rotate', '--new-key', formatKeyRing([k2, k1])], '--new-key must hold one key (got 2)'],
      [
        ring,
        ['rotate', '--new-key', formatKeyRing([{ id: 'k1', key: k2.key }])],
        'id "k1" names another key in the ring',
      ],
      [ring, ['rewrap-data'], '--tenant is required'],
      [ring, ['rewrap-data', '--tenant', tenant, '--passes', 'x'], '--passes "x" is not an integer ≥ 1'],
      [{}, ['rotate'], 'bflow keys needs BFLOW_MASTER_KEYS or BFLOW_MASTER_KEY_FILE'],
    ];
    for (const [env, args, message] of cases) {
      const r = await bflowKeys(env, ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toContain(message);
      expect(r.err).not.toContain(k2.key.toString('base64'));
    }
    // Nothing changed: the data keys are still wrapped with k1.
    await expect(verifyKeyRing(new MySqlDataKeyStore(db.pool), keyRing([k1]))).resolves.toBeUndefined();
  });

  it('bflow keys - rotate re-wraps the data keys with the new key; rewrap-data re-encrypts the tenant with progress', async () => {
    const rotated = await bflowKeys(
      { BFLOW_MASTER_KEYS: formatKeyRing([k1]) },
      'rotate',
      '--new-key',
      formatKeyRing([k2]),
    );
    expect(rotated.code).toBe(0);
    expect(rotated.out).toContain('rotated: every data key is wrapped with master key "k2" (1 re-wrapped)');
    expect(rotated.out).toContain('now put "k2" first in BFLOW_MASTER_KEYS on every process');
    const store = new MySqlDataKeyStore(db.pool);
    await expect(verifyKeyRing(store, keyRing([k1]))).rejects.toThrow(/master key "k2"/);
    await expect(verifyKeyRing(store, keyRing([k2]))).resolves.toBeUndefined();
    // Again with the new ring: nothing left to re-wrap.
    const again = await bflowKeys({ BFLOW_MASTER_KEYS: formatKeyRing([k2, k1]) }, 'rotate');
    expect(again.out).toContain('(0 re-wrapped)');
    expect(again.out).toContain('keys "k1" wrap nothing now');

    const rewrap = await bflowKeys(
      { BFLOW_MASTER_KEYS: formatKeyRing([k2]) },
      'rewrap-data',
      '--tenant',
      tenant,
      '--wait-ms',
      '0',
    );
    expect(rewrap.err).toBe('');
    expect(rewrap.code).toBe(0);
    expect(rewrap.out).toContain(`rewrap-data ${tenant}: runtimes 1/1 read, 1 re-encrypted`);
    expect(rewrap.out).toContain(`rewrap-data ${tenant}: runtime_steps 2/2 read, 2 re-encrypted`);
    expect(rewrap.out).toMatch(/data key 2, \d+ rows re-encrypted in 1 pass\(es\), 0 values left under older keys/);
    const read = new MySqlReadModel(db.pool, { cipher: new EnvelopeCipher(keyRing([k2]), store) });
    expect((await read.getRuntime(tenant, 'rt-1'))?.revision).toBe(2);
    expect((await read.runtimeLog(tenant, 'rt-1')).map((l) => l.seq)).toEqual([1, 2]);
  });
});
