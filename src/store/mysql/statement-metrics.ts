import type mysql from 'mysql2/promise';
import { Counter, type Registry } from 'prom-client';

/**
 * Statement counting, a diagnostic the benchmarks use (BFLOW_MYSQL_STATEMENT_METRICS=true): each query a
 * counted pool sends is classified by a regex (verb, table, in a transaction or not) and timed. Off by
 * default, since it costs a regex and a timer per query; {@link countStatements} turns it on per pool.
 */

/**
 * What this process's counted pools sent to MySQL, counted per statement as it is
 * sent (all pools together). A transaction is an explicit `START TRANSACTION` or a
 * write outside one (autocommit); a read is a `SELECT`, keyed by its first
 * table and by whether it ran inside a transaction. Exposed by
 * {@link registerMySqlStatementMetrics}; the benchmarks divide them by commands.
 */
export interface MySqlStatementCounts {
  statements: number;
  /** Queries sent (round trips): fewer than statements where a query holds several. */
  queries: number;
  transactions: number;
  commits: number;
  rollbacks: number;
  /** INSERT / UPDATE / DELETE / REPLACE statements. */
  writes: number;
  /** `table` or `table in_tx` → SELECTs. */
  reads: Map<string, number>;
  /** Connection requests that found every connection of their pool busy and waited in its queue. */
  poolWaits: number;
  /** `VERB table` (e.g. `DELETE timers`, `COMMIT`) → [statements, seconds from sent to answered]. */
  timings: Map<string, [number, number]>;
}

export const mysqlStatementCounts: MySqlStatementCounts = {
  statements: 0,
  queries: 0,
  transactions: 0,
  commits: 0,
  rollbacks: 0,
  writes: 0,
  reads: new Map(),
  poolWaits: 0,
  timings: new Map(),
};

interface CountedConnection {
  query(...args: unknown[]): unknown;
  execute(...args: unknown[]): unknown;
}

const countedPools = new WeakSet<object>();

/**
 * Counts what `pool` sends from now on (its connections opened later: call it before the first query), and
 * how often a connection request waited for a free connection. Additive: the pool behaves the same.
 */
export function countStatements(pool: mysql.Pool): void {
  if (countedPools.has(pool)) return;
  countedPools.add(pool);
  pool.on('connection', (conn) => countStatementsOf(conn as unknown as CountedConnection));
  pool.on('enqueue', () => mysqlStatementCounts.poolWaits++);
}

/** The statement's first word; a UNION of parenthesised SELECTs (CoalescedReads) counts as its SELECT. */
const FIRST_WORD = /^[\s(]*(\w+)/;
/** A compound statement (the group commit's revision guards), not a transaction's start. */
const COMPOUND = /^\s*BEGIN\s+NOT\s+ATOMIC\b/i;
const FROM_TABLE = /\bFROM\s+`?(\w+)/i;
const WRITTEN_TABLE = /^\s*(?:INSERT\s+(?:IGNORE\s+)?INTO|REPLACE\s+INTO|UPDATE|DELETE\s+FROM)\s+`?(\w+)/i;

function sqlOf(arg: unknown): string {
  if (typeof arg === 'string') return arg;
  const sql = (arg as { sql?: unknown } | null)?.sql;
  return typeof sql === 'string' ? sql : '';
}

/** Wraps one connection's query/execute to count what it sends (additive: behaviour unchanged). */
function countStatementsOf(conn: CountedConnection): void {
  let inTransaction = false;
  /** Counts `sql`; returns its timing key. */
  const count = (sql: string): string => {
    const c = mysqlStatementCounts;
    c.statements++;
    const word = FIRST_WORD.exec(sql)?.[1]?.toUpperCase() ?? '?';
    if (word === 'START' || (word === 'BEGIN' && !COMPOUND.test(sql))) {
      inTransaction = true;
      c.transactions++;
    } else if (word === 'COMMIT' || word === 'ROLLBACK') {
      inTransaction = false;
      if (word === 'COMMIT') c.commits++;
      else c.rollbacks++;
    } else if (word === 'SELECT') {
      const table = FROM_TABLE.exec(sql)?.[1] ?? 'none';
      const key = inTransaction ? `${table} in_tx` : table;
      c.reads.set(key, (c.reads.get(key) ?? 0) + 1);
      return `SELECT ${table}`;
    } else if (word === 'INSERT' || word === 'UPDATE' || word === 'DELETE' || word === 'REPLACE') {
      c.writes++;
      if (!inTransaction) c.transactions++;
      return `${word} ${WRITTEN_TABLE.exec(sql)?.[1] ?? '?'}`;
    }
    return word;
  };
  /** Times a sent command (a mysql2 Command: an EventEmitter that emits `end`). */
  const timed = (key: string, command: unknown): unknown => {
    const started = performance.now();
    (command as { once?: (event: string, listener: () => void) => void } | undefined)?.once?.('end', () => {
      const t = mysqlStatementCounts.timings.get(key) ?? [0, 0];
      t[0]++;
      t[1] += (performance.now() - started) / 1000;
      mysqlStatementCounts.timings.set(key, t);
    });
    return command;
  };
  /**
   * Counts each statement of a query (several on a multipleStatements pool, joined by `;` and a line break as
   * batch-sql.ts sends them, so that a compound statement's inner `;` do not count; placeholders keep values
   * out of the text).
   */
  const countAll = (sql: string): string => {
    mysqlStatementCounts.queries++;
    const parts = sql.includes(';\n') ? sql.split(';\n').filter((part) => part.trim() !== '') : [sql];
    const keys = parts.map(count);
    return keys.length > 1 ? `MULTI ${keys[0]}` : (keys[0] ?? '?');
  };
  const query = conn.query;
  const execute = conn.execute;
  conn.query = function (this: unknown, ...args: unknown[]) {
    const key = countAll(sqlOf(args[0]));
    return timed(key, query.apply(this, args));
  };
  conn.execute = function (this: unknown, ...args: unknown[]) {
    const key = count(sqlOf(args[0]));
    return timed(key, execute.apply(this, args));
  };
}

/**
 * Registers the statement counts as Prometheus counters:
 * `bflow_mysql_statements_total`, `bflow_mysql_queries_total`, `bflow_mysql_transactions_total`,
 * `bflow_mysql_writes_total`, `bflow_mysql_pool_waits_total`,
 * `bflow_mysql_reads_total{table,in_transaction}`.
 */
export function registerMySqlStatementMetrics(registry: Registry): void {
  const c = mysqlStatementCounts;
  const total = (name: string, help: string, value: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(value());
      },
    });
  total('bflow_mysql_statements_total', 'Statements sent to MySQL by this process', () => c.statements);
  total(
    'bflow_mysql_queries_total',
    'Queries (round trips) sent to MySQL by this process; one may hold several statements',
    () => c.queries,
  );
  total(
    'bflow_mysql_transactions_total',
    'MySQL transactions begun: START TRANSACTION, or a write outside one (autocommit)',
    () => c.transactions,
  );
  total('bflow_mysql_commits_total', 'COMMIT statements sent to MySQL', () => c.commits);
  total('bflow_mysql_writes_total', 'INSERT, UPDATE, DELETE and REPLACE statements sent to MySQL', () => c.writes);
  total(
    'bflow_mysql_pool_waits_total',
    'Connection requests that waited for a free pool connection',
    () => c.poolWaits,
  );
  new Counter({
    name: 'bflow_mysql_statement_seconds_total',
    help: 'Seconds from sending a statement to its answer, summed, by verb and table',
    labelNames: ['statement'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [statement, [, seconds]] of c.timings) this.inc({ statement }, seconds);
    },
  });
  new Counter({
    name: 'bflow_mysql_statements_by_kind_total',
    help: 'Statements sent to MySQL by verb and table (the counts behind bflow_mysql_statement_seconds_total)',
    labelNames: ['statement'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [statement, [n]] of c.timings) this.inc({ statement }, n);
    },
  });
  new Counter({
    name: 'bflow_mysql_reads_total',
    help: 'SELECT statements sent to MySQL, by first table and whether inside a transaction',
    labelNames: ['table', 'in_transaction'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [key, n] of c.reads) {
        const [table = 'none', tx] = key.split(' ');
        this.inc({ table, in_transaction: tx ? 'true' : 'false' }, n);
      }
    },
  });
}
