import { openBytes, sealBytes } from './aes-gcm.ts';
import {
  COMPRESSED_COLUMNS,
  compressColumn,
  decompressText,
  isCompressed,
  isPlainCompressed,
  openPlainCompressed,
  plainCompressed,
} from './column-compression.ts';
import { CipherError } from './crypto-errors.ts';
import { type DataKeyStore, newDataKey, unwrapDataKey } from './data-keys.ts';
import type { MasterKeyRing } from './key-ring.ts';
import { checkOptions, nonNegative, resolveOptions, type OptionDefaults } from '../../shared/options.ts';

/**
 * Encryption at rest at the store adapters' boundary (docs/security.md): a column's text is sealed before it
 * is written and opened after it is read; the engine and the actors never see ciphertext. The associated
 * data binds each value to its tenant, column (`table.column`) and row id, so a value copied to another
 * row, table or tenant does not open.
 */
export interface FieldCipher {
  /** Whether `seal` encrypts (false: values are written as plaintext; `open` still reads both). */
  readonly encrypts: boolean;
  /** Loads (or creates, on first use) the tenants' data keys; at once when they are cached. Call before `seal`. */
  ready(tenants: Iterable<string>): Promise<void>;
  /** The stored form of `plaintext` for `column` of the row `rowId`; synchronous (its tenant must be `ready`). */
  seal(tenant: string, column: string, rowId: string, plaintext: string): string;
  /** The plaintext of a stored value; a value written before encryption (no prefix) is returned as it is. */
  open(tenant: string, column: string, rowId: string, stored: string): Promise<string>;
}

/** Ciphertext: `bf1.<data key version>.<base64 of nonce ‖ tag ‖ ciphertext>`; JSON text never starts so. */
const PREFIX = 'bf1.';

export const isSealed = (stored: string): boolean => stored.startsWith(PREFIX);

const aadOf = (tenant: string, column: string, rowId: string): Buffer =>
  Buffer.from(`bflow\u0000${tenant}\u0000${column}\u0000${rowId}`);

const whereOf = (tenant: string, column: string, rowId: string): string => `${column} of tenant ${tenant} row ${rowId}`;

/**
 * No keys configured: writes plaintext (with `compress`, the large JSON columns deflated: column-compression.ts);
 * reads plaintext and compressed values, and refuses ciphertext, with what to set.
 */
export class PlaintextCipher implements FieldCipher {
  readonly encrypts = false;
  constructor(private readonly compress = false) {}

  ready(): Promise<void> {
    return Promise.resolve();
  }

  seal(_tenant: string, column: string, _rowId: string, plaintext: string): string {
    const compressed = this.compress ? compressColumn(column, plaintext) : undefined;
    return compressed === undefined ? plaintext : plainCompressed(compressed);
  }

  async open(tenant: string, column: string, rowId: string, stored: string): Promise<string> {
    if (isPlainCompressed(stored)) return openPlainCompressed(stored, whereOf(tenant, column, rowId));
    if (!isSealed(stored)) return stored;
    throw new CipherError(
      'key_ring_invalid',
      `${column} of tenant ${tenant} row ${rowId} is encrypted, but no master keys are configured: set BFLOW_MASTER_KEYS or BFLOW_MASTER_KEY_FILE`,
    );
  }
}

/** Plaintext, uncompressed: the default of the adapters (tests, tools); the processes use startCipher's. */
export const PLAINTEXT_CIPHER: FieldCipher = new PlaintextCipher();

export interface EnvelopeCipherOptions {
  /** Seal what is written (false: BFLOW_ENCRYPTION=off; reads still open ciphertext). @default true */
  encrypt?: boolean;
  /** Deflate the large JSON columns before sealing them (BFLOW_COMPRESSION; column-compression.ts). @default true */
  compress?: boolean;
  /** How long a tenant's keys are used before they are read again (a new version from rewrap-data is seen then). @default 60000 */
  refreshMs?: number;
  /** @default Date.now */
  now?: () => number;
}

export const DEFAULT_ENVELOPE_CIPHER_OPTIONS = Object.freeze({
  encrypt: true,
  compress: true,
  refreshMs: 60_000,
  now: Date.now,
} satisfies OptionDefaults<EnvelopeCipherOptions>);

interface TenantKeys {
  /** The newest version: what `seal` uses. */
  active: { version: number; key: Buffer };
  byVersion: Map<number, Buffer>;
  loadedAt: number;
}

/**
 * Envelope encryption: per-tenant data keys (AES-256-GCM) wrapped with the ring's master keys, unwrapped
 * once and cached in memory, re-read every `refreshMs` in the background. A tenant's first sealed value
 * creates its data key (version 1); two processes racing to create it agree on the stored one.
 */
export class EnvelopeCipher implements FieldCipher {
  readonly encrypts: boolean;
  private readonly options;
  /** The plaintext forms: what `seal` writes with encryption off, and what `open` reads unsealed. */
  private readonly plain: PlaintextCipher;
  private readonly tenants = new Map<string, TenantKeys>();
  private readonly reading = new Map<string, Promise<TenantKeys | undefined>>();

  constructor(
    readonly ring: MasterKeyRing,
    readonly store: DataKeyStore,
    given: EnvelopeCipherOptions = {},
  ) {
    this.options = resolveOptions(DEFAULT_ENVELOPE_CIPHER_OPTIONS, given);
    checkOptions('EnvelopeCipher', this.options, { refreshMs: nonNegative });
    this.encrypts = this.options.encrypt;
    this.plain = new PlaintextCipher(this.options.compress);
  }

  ready(tenants: Iterable<string>): Promise<void> {
    let waits: Promise<TenantKeys>[] | undefined;
    const now = this.options.now();
    for (const tenant of tenants) {
      const cached = this.tenants.get(tenant);
      if (cached === undefined) (waits ??= []).push(this.load(tenant));
      else if (now - cached.loadedAt > this.options.refreshMs) {
        // Re-read behind the caller, once per refreshMs even when it fails (the cached keys stay usable).
        cached.loadedAt = now;
        this.load(tenant).catch(() => undefined);
      }
    }
    return waits === undefined ? Promise.resolve() : Promise.all(waits).then(() => undefined);
  }

  seal(tenant: string, column: string, rowId: string, plaintext: string): string {
    if (!this.encrypts) return this.plain.seal(tenant, column, rowId, plaintext);
    const compressed = this.options.compress ? compressColumn(column, plaintext) : undefined;
    const keys = this.tenants.get(tenant);
    if (keys === undefined) throw new Error(`EnvelopeCipher: seal for tenant ${tenant} before ready()`);
    const sealed = sealBytes(keys.active.key, compressed ?? plaintext, aadOf(tenant, column, rowId));
    return `${PREFIX}${keys.active.version}.${sealed.toString('base64')}`;
  }

  async open(tenant: string, column: string, rowId: string, stored: string): Promise<string> {
    // Plaintext, compressed or not (written before encryption, or with BFLOW_ENCRYPTION=off).
    if (!isSealed(stored)) return this.plain.open(tenant, column, rowId, stored);
    const where = whereOf(tenant, column, rowId);
    const dot = stored.indexOf('.', PREFIX.length);
    const version = Number(stored.slice(PREFIX.length, dot));
    if (dot < 0 || !Number.isInteger(version))
      throw new CipherError('ciphertext_mismatch', `${where}: not a bflow ciphertext`);
    let keys = this.tenants.get(tenant);
    // Not read yet, or a version made after this process read them (rewrap-data elsewhere): read them now.
    // Reading never creates a key: a sealed value without its tenant's keys is data_key_missing.
    if (!keys?.byVersion.has(version)) keys = await this.read(tenant);
    const key = keys?.byVersion.get(version);
    if (key === undefined)
      throw new CipherError(
        'data_key_missing',
        `${where} is sealed with data key ${version}, which the tenant does not have`,
      );
    const plain = openBytes(key, Buffer.from(stored.slice(dot + 1), 'base64'), aadOf(tenant, column, rowId));
    if (plain === undefined) {
      throw new CipherError(
        'ciphertext_mismatch',
        `${where} does not decrypt: it was altered, or copied from another tenant, table or row`,
      );
    }
    return COMPRESSED_COLUMNS.has(column) && isCompressed(plain) ? decompressText(plain, where) : plain.toString();
  }

  /** Makes a new data key version the tenant's active one (`bflow keys rewrap-data`); returns it. */
  async newVersion(tenant: string): Promise<number> {
    const current = await this.load(tenant);
    const created = await this.create(tenant, current.active.version + 1);
    return created.active.version;
  }

  /** The tenant's keys, creating version 1 for a tenant with none. */
  private async load(tenant: string): Promise<TenantKeys> {
    return (await this.read(tenant)) ?? this.create(tenant, 1);
  }

  /** Reads the tenant's keys into the cache: one read at a time per tenant (a page of rows opens together). */
  private read(tenant: string): Promise<TenantKeys | undefined> {
    let pending = this.reading.get(tenant);
    if (pending === undefined) {
      pending = this.readNow(tenant).finally(() => this.reading.delete(tenant));
      this.reading.set(tenant, pending);
    }
    return pending;
  }

  private async readNow(tenant: string): Promise<TenantKeys | undefined> {
    const stored = await this.store.load([tenant]);
    if (stored.length === 0) return undefined;
    const byVersion = new Map(stored.map((s) => [s.version, unwrapDataKey(this.ring, s)]));
    const version = Math.max(...byVersion.keys());
    const keys: TenantKeys = {
      active: { version, key: byVersion.get(version)! },
      byVersion,
      loadedAt: this.options.now(),
    };
    this.tenants.set(tenant, keys);
    return keys;
  }

  private async create(tenant: string, version: number): Promise<TenantKeys> {
    await this.store.insert(newDataKey(this.ring.active, tenant, version, this.options.now()).stored);
    // Inserted, or another process's key of that version won the race: either way the stored one is used.
    // Read afresh, not joined to a read begun before the insert.
    const keys = await this.readNow(tenant);
    if (keys === undefined) throw new Error(`EnvelopeCipher: data key ${version} of tenant ${tenant} was not stored`);
    return keys;
  }
}
