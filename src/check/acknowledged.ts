import { CheckError } from './errors.ts';

/**
 * A command the system acknowledged (a 2xx reply, replayed ones included): it
 * must be in its runtime's log exactly once. Record a start by the runtime id of
 * its reply (a retried start may have sent another), and only when the reply
 * says it created the runtime (`201`, or a replay of one): a start answered
 * `200` with the document's existing runtime wrote nothing under its key.
 */
export interface AcknowledgedCommand {
  tenant: string;
  runtimeId: string;
  idempotencyKey: string;
}

/**
 * Parses a JSON-lines file of acknowledged commands: one
 * `{"runtimeId": "…", "idempotencyKey": "…", "tenant"?: "…"}` per line (blank
 * lines skipped; `tenant` defaults to `defaultTenant`). Throws CheckError
 * `bad_input` naming the line.
 */
export function parseAcknowledged(text: string, source: string, defaultTenant: string): AcknowledgedCommand[] {
  const out: AcknowledgedCommand[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${source}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new CheckError('bad_input', `${where}: not JSON (${(err as Error).message})`);
    }
    const o = value as Record<string, unknown> | null;
    const tenant = o?.['tenant'] ?? defaultTenant;
    const runtimeId = o?.['runtimeId'];
    const idempotencyKey = o?.['idempotencyKey'];
    if (
      typeof tenant !== 'string' ||
      typeof runtimeId !== 'string' ||
      typeof idempotencyKey !== 'string' ||
      runtimeId === '' ||
      idempotencyKey === ''
    ) {
      throw new CheckError(
        'bad_input',
        `${where}: expected {"runtimeId": string, "idempotencyKey": string, "tenant"?: string}, got ${line.slice(0, 200)}`,
      );
    }
    out.push({ tenant, runtimeId, idempotencyKey });
  });
  return out;
}
