import type { Row } from './sql.ts';

/** One page query waiting for the next batch. */
interface Waiting {
  sql: string;
  values: unknown[];
  resolve: (rows: Row[]) => void;
  reject: (err: unknown) => void;
}

/**
 * Page queries of one shape issued in the same turn of the event loop, sent to MySQL as one statement:
 * `(SELECT 0 AS q, …) UNION ALL (SELECT 1 AS q, …)`, each part keeping its own ORDER BY and LIMIT, and
 * the rows handed back to each caller by `q`, re-sorted with `order` (a UNION does not promise to keep
 * the parts' order; a point read has none to keep). A query alone in its turn is sent as it is. One round trip for several concurrent
 * reads saves the client and the server a socket write, a read and a statement each; the inbox's reads
 * arrive together, since a gateway's requests pass the rate limit in one Redis pipeline reply.
 * A failed statement fails every query of its batch.
 *
 * @example
 * const reads = new CoalescedReads((sql, values) => selectRows(pool, 10_000, sql, values), byInboxOrder);
 * const rows = await reads.query('SELECT … ORDER BY t.assigned_at LIMIT ?', [tenant, 51]);
 */
export class CoalescedReads {
  private waiting: Waiting[] = [];

  constructor(
    private readonly select: (sql: string, values: unknown[]) => Promise<Row[]>,
    /** The parts' ORDER BY as a comparator (what MySQL's collation gives for these columns); none for point reads. */
    private readonly order: ((a: Row, b: Row) => number) | undefined,
    private readonly maxBatch = 32,
  ) {}

  /** The rows of `sql` (one SELECT, starting with `SELECT `, holding its own ORDER BY and LIMIT). */
  query(sql: string, values: unknown[]): Promise<Row[]> {
    if (!sql.startsWith('SELECT ')) throw new RangeError('CoalescedReads takes one SELECT');
    return new Promise<Row[]>((resolve, reject) => {
      this.waiting.push({ sql, values, resolve, reject });
      if (this.waiting.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const all = this.waiting;
    this.waiting = [];
    for (let i = 0; i < all.length; i += this.maxBatch) this.send(all.slice(i, i + this.maxBatch));
  }

  private send(batch: readonly Waiting[]): void {
    if (batch.length === 1) {
      const [only] = batch as [Waiting];
      this.select(only.sql, only.values).then(only.resolve, only.reject);
      return;
    }
    const sql = batch.map((w, i) => `(SELECT ${i} AS q, ${w.sql.slice('SELECT '.length)})`).join(' UNION ALL ');
    this.select(
      sql,
      batch.flatMap((w) => w.values),
    ).then(
      (rows) => {
        const parts: Row[][] = batch.map(() => []);
        // Each row keeps its `q` column: callers read the columns they selected.
        for (const row of rows) parts[Number(row.q)]?.push(row);
        batch.forEach((w, i) => w.resolve(this.order ? parts[i]!.sort(this.order) : parts[i]!));
      },
      (err: unknown) => {
        for (const w of batch) w.reject(err);
      },
    );
  }
}
