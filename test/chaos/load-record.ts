/** One HTTP try of a command (or of a bad input): what came back and how long it took. */
export interface Attempt {
  /** Epoch ms the try was sent. */
  at: number;
  ms: number;
  /** HTTP status; undefined when no answer came (connection refused or reset, client timeout). */
  status?: number;
  /** The problem's `code`, or the transport failure (`timeout`, `ECONNREFUSED`, ...). */
  code?: string;
}

/** An acknowledged command: what the invariant checker must find exactly once. */
export interface Ack {
  tenant: string;
  runtimeId: string;
  idempotencyKey: string;
  action: string;
  actor: string;
  /** Epoch ms of the first try and of the acknowledgement. */
  firstAt: number;
  ackAt: number;
  attempts: number;
}

/** A command given up on: retried until its deadline, or refused for a reason a retry cannot fix. */
export interface Abandoned {
  tenant: string;
  runtimeId?: string;
  idempotencyKey: string;
  action: string;
  /** `refused`: a 4xx a retry cannot fix; `deadline`: retried in vain; `stopped`: the load ended meanwhile. */
  reason: 'refused' | 'deadline' | 'stopped';
  last: Attempt;
  attempts: number;
}

/** A fault as injected: when it began and when the injector undid it (a kill is undone at once: healing is the system's job). */
export interface FaultMark {
  kind: string;
  detail: string;
  at: number;
  healedAt: number;
}

/** Everything a chaos run observed, shared by the load driver, the fault injectors and the summary. */
export class LoadRecord {
  readonly acks: Ack[] = [];
  readonly abandoned: Abandoned[] = [];
  /** Every try that did not succeed (retried or not). */
  readonly failedAttempts: Attempt[] = [];
  readonly faults: FaultMark[] = [];
  /** Malformed requests mixed into the load, with what came back. */
  readonly badInputs: Attempt[] = [];
  /** Count of tries per outcome: `201`, `503 store_unavailable`, `no answer ECONNREFUSED`, ... */
  readonly outcomes = new Map<string, number>();
  startedAt = Date.now();
  stoppedAt = 0;

  attempt(a: Attempt, ok: boolean): void {
    const key =
      a.status === undefined
        ? `no answer ${a.code ?? ''}`.trim()
        : a.code === undefined
          ? String(a.status)
          : `${a.status} ${a.code}`;
    this.outcomes.set(key, (this.outcomes.get(key) ?? 0) + 1);
    if (!ok) this.failedAttempts.push(a);
  }

  /** Acknowledged commands per whole second since the start. */
  perSecond(): number[] {
    const end = this.stoppedAt || Date.now();
    const seconds = Array.from({ length: Math.max(1, Math.ceil((end - this.startedAt) / 1000)) }, () => 0);
    for (const a of this.acks) {
      const i = Math.floor((a.ackAt - this.startedAt) / 1000);
      if (i >= 0 && i < seconds.length) seconds[i]!++;
    }
    return seconds;
  }

  /** Acknowledged commands per second over the whole run. */
  throughput(): number {
    const seconds = ((this.stoppedAt || Date.now()) - this.startedAt) / 1000;
    return seconds > 0 ? this.acks.length / seconds : 0;
  }
}
