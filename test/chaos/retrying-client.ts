import type { Attempt, LoadRecord } from './load-record.ts';

/** Options of {@link RetryingClient}. */
export interface RetryingClientOptions {
  /** How long one try may take before the client gives up on it (and retries). @default 10_000 */
  attemptTimeoutMs?: number;
  /** How long a command is retried before it is abandoned. @default 60_000 */
  deadlineMs?: number;
  /** Pause between tries when the answer names none (Retry-After); doubles up to 2 s. @default 100 */
  firstPauseMs?: number;
}

/** One write as an ERP client sends it: always with an Idempotency-Key, the same on every retry. */
export interface Command {
  tenant: string;
  token: string;
  path: string;
  body: unknown;
  idempotencyKey: string;
  /** `start` or the action's name (for the record). */
  action: string;
  actor: string;
  /** Known for actions; a start learns it from the answer. */
  runtimeId?: string;
}

export type CommandResult = { ok: true; status: number; body: any } | { ok: false; last: Attempt };

/** Answers a retry can fix: no answer, 5xx, 429 (and 409 `idempotency_in_progress`-like races are not expected). */
const retryable = (a: Attempt): boolean => a.status === undefined || a.status >= 500 || a.status === 429;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The chaos load's HTTP client: sends a command, and on no answer, a timeout,
 * a 5xx or a 429 sends it again with the same Idempotency-Key until its
 * deadline, as a real ERP client would. Every try and every acknowledgement
 * goes to the LoadRecord.
 */
export class RetryingClient {
  private readonly o: Required<RetryingClientOptions>;

  constructor(
    readonly url: string,
    readonly record: LoadRecord,
    options: RetryingClientOptions = {},
  ) {
    this.o = {
      attemptTimeoutMs: options.attemptTimeoutMs ?? 10_000,
      deadlineMs: options.deadlineMs ?? 60_000,
      firstPauseMs: options.firstPauseMs ?? 100,
    };
  }

  /** Sends `command` until it is answered with a non-retryable status or its deadline passes; records the outcome. */
  async send(command: Command, stillWanted: () => boolean = () => true): Promise<CommandResult> {
    const firstAt = Date.now();
    const deadline = firstAt + this.o.deadlineMs;
    let pause = this.o.firstPauseMs;
    for (let tries = 1; ; tries++) {
      const { attempt, body, retryAfterMs } = await this.try(command);
      const ok = attempt.status !== undefined && attempt.status < 300;
      this.record.attempt(attempt, ok);
      if (ok) {
        const runtimeId = command.runtimeId ?? String(body?.id);
        const { tenant, idempotencyKey, action, actor } = command;
        this.record.acks.push({
          tenant,
          runtimeId,
          idempotencyKey,
          action,
          actor,
          firstAt,
          ackAt: Date.now(),
          attempts: tries,
        });
        return { ok: true, status: attempt.status!, body };
      }
      const reason = !retryable(attempt)
        ? 'refused'
        : !stillWanted()
          ? 'stopped'
          : Date.now() + pause >= deadline
            ? 'deadline'
            : undefined;
      if (reason !== undefined) {
        const { tenant, runtimeId, idempotencyKey, action } = command;
        this.record.abandoned.push({
          tenant,
          ...(runtimeId !== undefined && { runtimeId }),
          idempotencyKey,
          action,
          reason,
          last: attempt,
          attempts: tries,
        });
        return { ok: false, last: attempt };
      }
      await sleep(retryAfterMs ?? pause / 2 + Math.random() * (pause / 2));
      pause = Math.min(2000, pause * 2);
    }
  }

  /** One try: POST with the command's key; never throws. */
  async try(
    command: Pick<Command, 'token' | 'path' | 'body' | 'idempotencyKey'>,
  ): Promise<{ attempt: Attempt; body?: any; retryAfterMs?: number }> {
    return tryRequest(`${this.url}${command.path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${command.token}`,
        'content-type': 'application/json',
        'idempotency-key': command.idempotencyKey,
      },
      body: JSON.stringify(command.body),
      timeoutMs: this.o.attemptTimeoutMs,
    });
  }
}

/** One HTTP request with a timeout, as an Attempt (status and problem code, or the transport failure); never throws. */
export async function tryRequest(
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; timeoutMs: number },
): Promise<{ attempt: Attempt; body?: any; retryAfterMs?: number }> {
  const at = Date.now();
  try {
    const res = await fetch(url, {
      method: init.method,
      headers: init.headers,
      body: init.body,
      signal: AbortSignal.timeout(init.timeoutMs),
    });
    const text = await res.text();
    let body: any;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = text;
    }
    const code = res.status >= 400 && typeof body?.code === 'string' ? (body.code as string) : undefined;
    const retryAfter = Number(res.headers.get('retry-after'));
    return {
      attempt: { at, ms: Date.now() - at, status: res.status, ...(code !== undefined && { code }) },
      body,
      ...(res.status >= 400 && retryAfter > 0 && { retryAfterMs: Math.min(retryAfter * 1000, 2000) }),
    };
  } catch (err) {
    return { attempt: { at, ms: Date.now() - at, code: transportCode(err) } };
  }
}

/** `timeout`, `ECONNREFUSED`, `ECONNRESET`, `UND_ERR_SOCKET`... of a failed fetch. */
function transportCode(err: unknown): string {
  const e = err as { name?: string; cause?: { code?: string; name?: string } };
  if (e.name === 'TimeoutError' || e.cause?.name === 'TimeoutError') return 'timeout';
  return e.cause?.code ?? e.name ?? 'error';
}
