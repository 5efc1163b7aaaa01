import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { CipherError } from './crypto-errors.ts';
import { ENCRYPTED } from './encrypted-columns.ts';

/**
 * Deflate for the two JSON columns written on every command (docs/security.md "Stored forms"): a step's log
 * body and a runtime's state are most of the bytes a command sends MariaDB, and their JSON shrinks to about
 * a third. The value is compressed before it is sealed, so the column's sealed form (`bf1.…`) is unchanged;
 * written as plaintext (BFLOW_ENCRYPTION=off) it is `bz1.<base64>`.
 *
 * Format 1: a 0x00 byte (JSON text never starts with one), then deflate-raw with {@link DICTIONARY_1}.
 * The dictionary is part of the stored format: never change it; add a format 2 beside it instead.
 */
export const COMPRESSED_COLUMNS: ReadonlySet<string> = new Set([ENCRYPTED.runtimeState, ENCRYPTED.stepBody]);

/** Shorter values are stored as they are: deflate saves too little on them for its cost. */
export const COMPRESS_FROM_LENGTH = 256;

const MARK_1 = 0x00;
const PLAIN_PREFIX_1 = 'bz1.';
/** A column holds at most a MEDIUMTEXT (16 MiB): a value that inflates past it was not written by bflow. */
const MAX_INFLATED = 16 * 1024 * 1024;

/** Substrings of the runtime state's and step body's JSON, most frequent last (deflate finds them cheapest there). */
const DICTIONARY_1 = Buffer.from(
  [
    '"changes":{',
    '"comment":"',
    '"escalated":true',
    '"timersCancelled":["',
    '"timersSet":[{"id":"',
    '"kind":"sla","stage":',
    '"dueAt":',
    '"exitedAt":',
    '"exitAction":"',
    '"status":"skipped"',
    '"status":"done","action":"',
    '"status":"closed"',
    '"status":"in_progress"',
    '"doc":{',
    '"runtime":{"id":"',
    '"tenant":"',
    '"app":"',
    '"docId":"',
    '"workflowId":"',
    '"version":',
    '"creator":"',
    '"createdAt":',
    '"updatedAt":',
    '"revision":',
    '"cause":{"idempotencyKey":"',
    '"command":{"type":"',
    '"start":{',
    '"change":{',
    '"init":{"v":1,',
    '"log":[{"seq":',
    '"fromNode":"',
    '"toNode":"',
    '"ev":{"app":"',
    '"events":[{"t":"',
    '"d":{',
    '"tasks":[{"stage":',
    '"assignedAt":',
    '"stages":[{"node":"',
    '"enteredAt":',
    '"tasks":[{"assignee":"',
    '"status":"open"',
    '"node":"',
    '"assignee":"',
    '"actor":"',
    '"action":"',
    '"at":',
    '"seq":',
    '{"v":1,',
  ].join(''),
);

/** `text` deflated (format 1), or undefined when it is short or would not shrink. */
export function compressText(text: string): Buffer | undefined {
  if (text.length < COMPRESS_FROM_LENGTH) return undefined;
  // The fastest level: on a state of ~1.3 KB it takes ~60% of the default level's time for ~6% more bytes.
  // Any level inflates alike, so the stored format does not depend on it.
  const deflated = deflateRawSync(text, { dictionary: DICTIONARY_1, level: constants.Z_BEST_SPEED });
  if (deflated.length + 1 >= Buffer.byteLength(text)) return undefined;
  const out = Buffer.allocUnsafe(deflated.length + 1);
  out[0] = MARK_1;
  deflated.copy(out, 1);
  return out;
}

/** `text` of `column` deflated, when the column is one of {@link COMPRESSED_COLUMNS} and it pays (see compressText). */
export const compressColumn = (column: string, text: string): Buffer | undefined =>
  COMPRESSED_COLUMNS.has(column) ? compressText(text) : undefined;

/** Whether opened bytes are a compressed value (else UTF-8 text). */
export const isCompressed = (bytes: Buffer): boolean => bytes.length > 0 && bytes[0] === MARK_1;

/** The text of a compressed value; `where` names it in the error. */
export function decompressText(bytes: Buffer, where: string): string {
  try {
    return inflateRawSync(bytes.subarray(1), { dictionary: DICTIONARY_1, maxOutputLength: MAX_INFLATED }).toString();
  } catch (err) {
    throw new CipherError(
      'ciphertext_mismatch',
      `${where}: compressed value does not inflate (${(err as Error).message})`,
    );
  }
}

/** The plaintext stored form of a compressed value. */
export const plainCompressed = (bytes: Buffer): string => `${PLAIN_PREFIX_1}${bytes.toString('base64')}`;

/** Whether a stored value is a compressed plaintext value. */
export const isPlainCompressed = (stored: string): boolean => stored.startsWith(PLAIN_PREFIX_1);

/** The text of a compressed plaintext value. */
export const openPlainCompressed = (stored: string, where: string): string =>
  decompressText(Buffer.from(stored.slice(PLAIN_PREFIX_1.length), 'base64'), where);
